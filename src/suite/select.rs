//! `--only` and `--skip`: check names or patterns (`*` any text, `?` any one character) turned
//! into the list of checks a run keeps, refusing a name or pattern that matches no check.

use crate::checks::CheckSpec;
use crate::error::{Error, Result};

/// Whether `name` matches `pattern`, where `*` stands for any text and `?` for any one
/// character.
pub fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative wildcard matching with one backtrack point (the last `*`).
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// The checks named by `patterns` (for `flag`), each pattern matching one at least.
fn matching(flag: &str, patterns: &[String], names: &[&'static str]) -> Result<Vec<&'static str>> {
    let mut out = Vec::new();
    for p in patterns {
        let hits: Vec<&'static str> = names.iter().copied().filter(|n| matches(p, n)).collect();
        if hits.is_empty() {
            let hint = crate::text::nearest(p, names)
                .map(|n| format!("; did you mean `{n}`?"))
                .unwrap_or_default();
            return Err(Error::Usage(if p.contains(['*', '?']) {
                format!("{flag}: `{p}` matches no check; `netdx checks` lists them{hint}")
            } else {
                format!("{flag}: unknown check `{p}`{hint}")
            }));
        }
        out.extend(hits);
    }
    Ok(out)
}

/// The checks a run keeps: those `only` matches (every check when it is empty) less those
/// `skip` matches, in registry order; empty when neither flag was given (the suite's own
/// list).
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<String>> {
    if only.is_empty() && skip.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&'static str> = CheckSpec::all().iter().map(|c| c.name()).collect();
    let kept = if only.is_empty() {
        names.clone()
    } else {
        matching("--only", only, &names)?
    };
    let skipped = matching("--skip", skip, &names)?;
    let selected: Vec<String> = names
        .iter()
        .filter(|n| kept.contains(n) && !skipped.contains(n))
        .map(|n| n.to_string())
        .collect();
    if selected.is_empty() {
        return Err(Error::Usage(
            "--only and --skip leave no check to run".into(),
        ));
    }
    Ok(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_shell_globs() {
        assert!(matches("gradient_*", "gradient_check"));
        assert!(matches("*check", "kernel_gradient_check"));
        assert!(matches("*_*_*", "kernel_gradient_check"));
        assert!(matches("smok?", "smoke"));
        assert!(matches("*", "numerics"));
        assert!(!matches("gradient_*", "kernel_gradient_check"));
        assert!(!matches("smoke?", "smoke"));
        assert!(!matches("", "smoke"));
    }

    #[test]
    fn only_and_skip_select_and_refuse_what_matches_nothing() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(select(&[], &[]).unwrap().is_empty());
        let got = select(&v(&["gradient_*", "smoke"]), &v(&["gradient_flow"])).unwrap();
        assert!(got.contains(&"gradient_check".to_string()));
        assert!(got.contains(&"smoke".to_string()));
        assert!(!got.contains(&"gradient_flow".to_string()));
        let all_but = select(&[], &v(&["*gradient*"])).unwrap();
        assert!(all_but.iter().all(|c| !c.contains("gradient")) && all_but.len() > 10);
        let e = select(&v(&["smok"]), &[]).unwrap_err().to_string();
        assert!(
            e.contains("--only: unknown check `smok`; did you mean `smoke`?"),
            "{e}"
        );
        let e = select(&[], &v(&["zz*"])).unwrap_err().to_string();
        assert!(e.contains("--skip: `zz*` matches no check"), "{e}");
        let e = select(&v(&["smoke"]), &v(&["smo*"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("leave no check to run"), "{e}");
    }
}
