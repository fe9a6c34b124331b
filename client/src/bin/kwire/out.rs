//! Writing reports to stdout without panicking when the reader goes away
//! (`kwire ... | head`): `print!` panics on a closed pipe.

use std::io::{ErrorKind, Write};

use crate::exit::{Failure, OTHER};

/// Writes `text` to stdout. A closed pipe ends the report quietly (the
/// reader has what it wanted); any other write error is a failure.
pub fn print(text: &str) -> Result<(), Failure> {
    let mut w = std::io::stdout().lock();
    match w.write_all(text.as_bytes()).and_then(|()| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure {
            code: OTHER,
            message: format!("cannot write the report to stdout: {e}"),
        }),
    }
}

/// `print` with a line end.
pub fn println(text: &str) -> Result<(), Failure> {
    print(&format!("{text}\n"))
}
