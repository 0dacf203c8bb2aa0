//! ifupdown's `/etc/network/interfaces`: any bytes as the top file, which includes itself
//! and a second file holding the same bytes. Never a panic; the bound on files holds.
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use wait_online::ifupdown::interfaces::{self, Files, LoadError, MAX_FILES, ReadError};

/// Two files, `/n/interfaces` and `/n/inc`, both holding the input.
struct Two<'a>(&'a [u8]);

impl Files for Two<'_> {
    fn read(&self, path: &Path) -> Result<Vec<u8>, ReadError> {
        match self.exists(path) {
            true => Ok(self.0.to_vec()),
            false => Err(ReadError::Io {
                path: path.to_path_buf(),
                source: std::io::ErrorKind::NotFound.into(),
            }),
        }
    }
    fn expand(&self, _: &[u8]) -> Vec<PathBuf> {
        vec![PathBuf::from("/n/inc"), PathBuf::from("/n/interfaces")]
    }
    fn exists(&self, path: &Path) -> bool {
        path.starts_with("/n")
    }
    fn list(&self, _: &Path) -> Option<Vec<Vec<u8>>> {
        Some(vec![b"inc".to_vec(), b"interfaces".to_vec()])
    }
}

fuzz_target!(|data: &[u8]| {
    match interfaces::load(Path::new("/n/interfaces"), &Two(data)) {
        Ok(got) => assert!(got.files.len() <= MAX_FILES),
        Err(LoadError::Syntax(err)) => assert!(err.line >= 1),
        Err(LoadError::Unreadable(_)) => unreachable!("the top file is always readable"),
    }
});
