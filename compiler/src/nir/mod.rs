//! NIR (HDF5) import and export.
