//! The one template mechanism: a kernel's WGSL is its library files followed by its own file,
//! concatenated. Specialization beyond that is done with WGSL `override` constants at pipeline
//! creation. Naga errors are mapped back from the concatenated text to the file and line.

use crate::error::Error;

/// A WGSL file embedded in the binary.
#[derive(Clone, Copy, Debug)]
pub struct WgslFile {
    pub name: &'static str,
    pub text: &'static str,
}

macro_rules! wgsl {
    ($name:literal) => {
        WgslFile {
            name: concat!("shaders/", $name),
            text: include_str!(concat!("../../shaders/", $name)),
        }
    };
}
pub(crate) use wgsl;

/// The concatenated source of `files`, in order.
pub fn compose(files: &[WgslFile]) -> String {
    let mut s = String::new();
    for f in files {
        s.push_str(f.text);
        if !f.text.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// Maps a 1-based line of the composed source back to (file, line in that file).
pub fn locate(files: &[WgslFile], line: usize) -> (&'static str, usize) {
    let mut first = 1;
    for f in files {
        let lines = f.text.lines().count().max(1);
        if line < first + lines {
            return (f.name, line - first + 1);
        }
        first += lines;
    }
    (files.last().map(|f| f.name).unwrap_or("?"), line)
}

/// Parses and validates the composed source with naga; errors name the original file and line.
pub fn validate(files: &[WgslFile]) -> Result<naga::Module, Error> {
    let source = compose(files);
    let module = naga::front::wgsl::parse_str(&source).map_err(|e| {
        let (line, column) = e
            .location(&source)
            .map(|l| (l.line_number as usize, l.line_position as usize))
            .unwrap_or((0, 0));
        let (file, line) = locate(files, line);
        Error::Shader {
            file: file.to_string(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    let mut validator = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::all(),
    );
    validator.validate(&module).map_err(|e| {
        let (line, column) = e
            .location(&source)
            .map(|l| (l.line_number as usize, l.line_position as usize))
            .unwrap_or((0, 0));
        let (file, line) = locate(files, line);
        Error::Shader {
            file: file.to_string(),
            line,
            column,
            message: e.emit_to_string(&source),
        }
    })?;
    Ok(module)
}
