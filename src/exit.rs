//! Exit codes, as promised by the command-line contract.

use std::process::ExitCode;

/// How a run ended, as the shell sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every valid ID confirmed, none invalid.
    Success = 0,
    /// The run finished, but some IDs are invalid, failed or unsent.
    Incomplete = 1,
    /// Usage or input error before any request.
    Usage = 2,
    /// Nothing could be sent: the API was never reached.
    Unreachable = 3,
    /// The API refused the credentials (401) or the permission (403).
    Auth = 4,
    /// Interrupted by Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// An error that ends the program before (or instead of) a run, with the exit
/// code it maps to. Its message is one line, safe to print as is.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Fatal {
    /// The exit code.
    pub exit: Exit,
    /// The one-line message.
    pub message: String,
}

impl Fatal {
    /// A usage or input error (exit 2).
    pub fn usage(message: impl Into<String>) -> Fatal {
        Fatal {
            exit: Exit::Usage,
            message: message.into(),
        }
    }
}
