//! The one error type of hrlogs: a kind that decides the exit code, a message that names what
//! failed (with the vendor's code and message where there is one), and a hint for the fix.

use std::fmt;
use std::process::ExitCode;

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
    /// SIGTERM: exit 143.
    Terminated,
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
            Kind::PipeClosed => 0,
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
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
        self.hint = Some(hint.into());
        self
    }
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.exit_code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " — {hint}")?;
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
