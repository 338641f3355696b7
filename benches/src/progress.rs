//! Progress bars on the terminal, hidden unless asked for.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps labelled `message`; a hidden one when `show` is false.
pub fn bar(show: bool, len: u64, message: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}
