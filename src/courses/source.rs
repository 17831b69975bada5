//! Splitting a course file into its TOML front matter and markdown body, and reading the
//! front matter into a typed struct with positioned errors.

use std::path::Path;

use serde::de::DeserializeOwned;

use super::diagnostics::Diagnostic;

pub struct Split<'a> {
    pub front: &'a str,
    /// Byte offset of the front matter in the file.
    pub front_offset: usize,
    pub body: &'a str,
    pub body_offset: usize,
}

/// Finds the `+++` fences. A file without front matter is an error: every course file
/// needs at least a title.
pub fn split<'a>(file: &Path, source: &'a str) -> Result<Split<'a>, Diagnostic> {
    let start = source.strip_prefix('\u{feff}').map_or(0, |_| 3);
    let rest = &source[start..];
    let first_line_end = rest.find('\n').unwrap_or(rest.len());
    if rest[..first_line_end].trim_end() != "+++" {
        return Err(Diagnostic::error(
            file,
            source,
            start,
            first_line_end,
            "the file must start with front matter between `+++` lines",
        ));
    }
    let front_offset = start + first_line_end + 1;
    let mut line_start = front_offset.min(source.len());
    while line_start < source.len() {
        let line_end = source[line_start..]
            .find('\n')
            .map_or(source.len(), |i| line_start + i);
        if source[line_start..line_end].trim_end() == "+++" {
            let body_offset = (line_end + 1).min(source.len());
            return Ok(Split {
                front: &source[front_offset..line_start],
                front_offset,
                body: &source[body_offset..],
                body_offset,
            });
        }
        line_start = line_end + 1;
    }
    Err(Diagnostic::error(
        file,
        source,
        start,
        3,
        "the front matter is not closed: add a `+++` line after it",
    ))
}

/// Deserialises front matter; a TOML or schema error points at its key in the file.
pub fn front_matter<T: DeserializeOwned>(
    file: &Path,
    source: &str,
    split: &Split<'_>,
) -> Result<T, Diagnostic> {
    toml::from_str::<T>(split.front).map_err(|err| {
        let (offset, len) = err
            .span()
            .map_or((0, 0), |span| (span.start, span.end - span.start));
        Diagnostic::error(
            file,
            source,
            split.front_offset + offset,
            len,
            format!("front matter: {}", err.message().trim()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Front {
        title: String,
    }

    #[test]
    fn splits_front_matter_and_body() {
        let text = "+++\ntitle = \"A\"\n+++\n# Body\n";
        let split = split(Path::new("a.md"), text).unwrap();
        assert_eq!(split.front, "title = \"A\"\n");
        assert_eq!(split.body, "# Body\n");
        assert_eq!(&text[split.body_offset..], "# Body\n");
    }

    #[test]
    fn unknown_keys_point_at_their_line() {
        let text = "+++\ntitle = \"A\"\ntitel = \"B\"\n+++\n";
        let split = split(Path::new("a.md"), text).unwrap();
        let err = front_matter::<Front>(Path::new("a.md"), text, &split).unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        assert!(
            err.message.contains("unknown field `titel`"),
            "{}",
            err.message
        );
    }

    #[test]
    fn missing_fences_are_reported() {
        assert!(split(Path::new("a.md"), "# no front matter").is_err());
        let err = split(Path::new("a.md"), "+++\ntitle = \"x\"\n")
            .err()
            .unwrap();
        assert!(err.message.contains("not closed"));
    }
}
