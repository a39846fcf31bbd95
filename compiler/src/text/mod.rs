//! The `.snn` text format: parser and printer.
