//! The `haidang` command as an operator runs it.
