//! The one error type of hrlogs: a kind that decides the exit code, a message that names what
//! failed (with the vendor's code and message where there is one), and a hint for the fix.
//! Every message passes through [`clean`] when it becomes an `Error` and again when it is
//! printed: one line, control characters escaped, what looks like a secret redacted. The
//! secrets of the run themselves (also those a server echoes) are redacted where the message
//! is printed, by the run's [`crate::redact::Redactor`]. A leaf: it imports only `redact`.

use std::fmt;
use std::process::ExitCode;

pub use crate::redact::{REDACTED, clean, redact_url_userinfo};

/// What went wrong, as far as the exit code is concerned (see the contract's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Writing the output failed, or something else outside the contract's table: exit 1.
    Other,
    /// Bad flags, dates, ranges or files, found before any request: exit 2.
    Input,
    /// Credentials or configuration missing, rejected or forbidden: exit 3.
    Config,
    /// The vendor refused the request and retrying cannot help: exit 4.
    Api,
    /// The network or the vendor kept failing after every retry, or paging made no progress: exit 5.
    Unavailable,
    /// `archive verify`: the archive was altered: exit 6.
    Tampered,
    /// Ctrl-C: exit 130.
    Interrupted,
    /// SIGTERM (cron's `timeout`, systemd): exit 143.
    Terminated,
    /// SIGHUP (the terminal went away): exit 129.
    HungUp,
    /// The reader of stdout went away (`| head`): a normal end, exit 0, nothing printed.
    PipeClosed,
}

impl Kind {
    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Other => 1,
            Kind::Input => 2,
            Kind::Config => 3,
            Kind::Api => 4,
            Kind::Unavailable => 5,
            Kind::Tampered => 6,
            Kind::Interrupted => 130,
            Kind::Terminated => 143,
            Kind::HungUp => 129,
            Kind::PipeClosed => 0,
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
    /// What the vendor said, kept whole, when the vendor refused or failed the request.
    pub vendor: Option<Box<VendorError>>,
}

/// A vendor's refusal as it came: the HTTP status, the vendor's own code and message, and the
/// details per field (Recruitee's `error_fields`). Shown on one line: `Recruitee answered HTTP
/// 422 (invalid_filters): Invalid filters; filters_json: is invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// "Feishu", "Recruitee", or what the request was ("Feishu token request").
    pub vendor: String,
    pub status: u16,
    pub code: Option<String>,
    pub message: String,
    /// (field, what is wrong with it), in the vendor's order.
    pub fields: Vec<(String, String)>,
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered HTTP {}", self.vendor, self.status)?;
        if let Some(code) = &self.code {
            write!(f, " code {code}")?;
        }
        write!(f, ": {}", self.message)?;
        for (field, problem) in &self.fields {
            write!(f, "; {field}: {problem}")?;
        }
        Ok(())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: clean(&message.into()),
            hint: None,
            vendor: None,
        }
    }
    /// The error for a vendor's refusal: its message is the vendor's words on one line, and
    /// the details stay available to whoever handles it.
    pub fn from_vendor(kind: Kind, vendor: VendorError) -> Self {
        Error {
            vendor: Some(Box::new(vendor.clone())),
            ..Self::new(kind, vendor.to_string())
        }
    }
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(Kind::Input, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Kind::Config, message)
    }
    pub fn api(message: impl Into<String>) -> Self {
        Self::new(Kind::Api, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, message)
    }
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(Kind::Other, message)
    }
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted")
    }
    /// Adds what the user can do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(clean(&hint.into()));
        self
    }
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&clean(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, " — {}", clean(hint))?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::new(Kind::PipeClosed, "broken pipe");
        }
        Error::other(format!("writing the output failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vendor_refusal_keeps_code_message_and_fields_on_one_line() {
        let said = VendorError {
            vendor: "Recruitee".into(),
            status: 422,
            code: Some("invalid_filters".into()),
            message: "Invalid filters\nfor this\u{1b}[2J query".into(),
            fields: vec![("filters_json".into(), "is invalid".into())],
        };
        let e = Error::from_vendor(Kind::Api, said.clone());
        assert_eq!(e.vendor.as_deref(), Some(&said));
        let line = e.to_string();
        assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
        assert!(
            line.starts_with("Recruitee answered HTTP 422 code invalid_filters: Invalid filters")
        );
        assert!(line.ends_with("; filters_json: is invalid"), "{line}");
        assert_eq!(e.exit_code(), ExitCode::from(4));
    }
}
