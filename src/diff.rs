//! Diffs between two views (work in progress).
