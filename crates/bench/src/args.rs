//! A tiny `--flag value` parser: the binaries take a handful of options and no positional
//! arguments, so a dependency would be heavier than the job.

use std::str::FromStr;

/// Command-line options as `(name, value)` pairs, in order; a bare `--flag` has value `""`.
#[derive(Debug, Clone, Default)]
pub struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    /// Parses `std::env::args()`, skipping the program name.
    pub fn from_env() -> Result<Self, String> {
        Self::parse(std::env::args().skip(1))
    }

    /// Parses `--name value` and `--name=value`; a `--name` followed by another `--…` or by
    /// nothing is a bare flag.
    pub fn parse(items: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let mut pairs = Vec::new();
        let mut items = items.into_iter().peekable();
        while let Some(item) = items.next() {
            let Some(name) = item.strip_prefix("--") else {
                return Err(format!("unexpected argument {item:?} (options are --name value)"));
            };
            if let Some((name, value)) = name.split_once('=') {
                pairs.push((name.to_owned(), value.to_owned()));
                continue;
            }
            let value = match items.peek() {
                Some(next) if !next.starts_with("--") => items.next().unwrap_or_default(),
                _ => String::new(),
            };
            pairs.push((name.to_owned(), value));
        }
        Ok(Self { pairs })
    }

    /// True if `--name` was given (with or without a value).
    pub fn flag(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }

    /// The last value given for `--name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every value given for `--name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    /// `--name` parsed as `T`, or `default` when absent.
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("--{name}: cannot parse {v:?}")),
        }
    }

    /// `--name` as a string, or an error naming the missing option.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        self.get(name).filter(|v| !v.is_empty()).ok_or_else(|| format!("--{name} is required"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Args {
        Args::parse(s.split_whitespace().map(String::from)).expect("parses")
    }

    #[test]
    fn values_flags_and_equals() {
        let a = parse("--addr 127.0.0.1:0 --verbose --n=3 --pid 1 --pid 2");
        assert_eq!(a.get("addr"), Some("127.0.0.1:0"));
        assert!(a.flag("verbose"));
        assert_eq!(a.parse_or("n", 0u32), Ok(3));
        assert_eq!(a.all("pid"), vec!["1", "2"]);
        assert_eq!(a.parse_or("missing", 7u32), Ok(7));
    }

    #[test]
    fn rejects_positional() {
        assert!(Args::parse(["x".to_owned()]).is_err());
    }
}
