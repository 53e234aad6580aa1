//! A dataset's metadata in the vocabularies other tools read. (Being written.)
