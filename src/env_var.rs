//! Reading netdx's own environment variables: unset and blank mean "the default"; anything
//! else is the user's value, even when it is not UTF-8 (read lossily, so that the error that
//! refuses it can show it).

/// The value of `name` when it is set to something other than blank.
pub fn given(name: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Some(v),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(v)) => Some(v.to_string_lossy().into_owned()),
    }
}
