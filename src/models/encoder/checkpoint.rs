//! The encoder's safetensors checkpoint read one tensor at a time, for the own forward: the header
//! is parsed by the `safetensors` crate (which checks that the tensors' byte ranges follow each
//! other and match their shapes and types), and each tensor's bytes are read from the file only
//! when the forward asks for it, converted to f32 and dropped once packed. Reading the whole file
//! first (as `SafeTensors::deserialize` and candle's `load_buffer` need) held the file, candle's
//! copy of it and the packed weights at once: the encoder's peak memory was about twice what it
//! keeps.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use safetensors::tensor::{Dtype, Metadata};

/// Largest header accepted (the crate's own limit is 100 MB; encoder headers are a few KB).
const MAX_HEADER: u64 = 100_000_000;

/// An open checkpoint: its header, and the file to read tensors from.
pub struct Checkpoint {
    file: File,
    /// Where the tensor data starts (after the length and the header).
    data_start: u64,
    meta: Metadata,
}

impl Checkpoint {
    /// Open `path` and read its header; errors say what is wrong with the file.
    pub fn open(path: &Path) -> Result<Self, String> {
        let mut file = File::open(path).map_err(|e| e.to_string())?;
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let mut n = [0u8; 8];
        file.read_exact(&mut n)
            .map_err(|_| "shorter than a safetensors header".to_string())?;
        let n = u64::from_le_bytes(n);
        if n > MAX_HEADER || n + 8 > len {
            return Err(format!(
                "header length {n} does not fit the file of {len} bytes"
            ));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact(&mut header).map_err(|e| e.to_string())?;
        let meta: Metadata = serde_json::from_slice(&header).map_err(|e| format!("header: {e}"))?;
        let data_start = 8 + n;
        let end = meta
            .tensors()
            .values()
            .map(|t| t.data_offsets.1 as u64)
            .max()
            .unwrap_or(0);
        if data_start + end > len {
            return Err(format!(
                "the header describes {end} bytes of tensors; the file has {}",
                len - data_start
            ));
        }
        Ok(Checkpoint {
            file,
            data_start,
            meta,
        })
    }

    /// Whether the checkpoint has a tensor called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.meta.info(name).is_some()
    }

    /// The tensor `name` as f32 (from F32, F16 or BF16), checked to have `shape`.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let info = self
            .meta
            .info(name)
            .ok_or_else(|| format!("missing tensor {name}"))?;
        if info.shape != shape {
            return Err(format!(
                "{name} has shape {:?}, expected {shape:?}",
                info.shape
            ));
        }
        let (start, end) = info.data_offsets;
        let mut bytes = vec![0u8; end - start];
        // `&File` reads and seeks: no lock or cell needed for one reader at a time.
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.data_start + start as u64))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| format!("{name}: {e}"))?;
        let pairs = |f: fn([u8; 2]) -> f32| -> Vec<f32> {
            bytes.chunks_exact(2).map(|b| f([b[0], b[1]])).collect()
        };
        match info.dtype {
            Dtype::F32 => Ok(bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()),
            Dtype::F16 => Ok(pairs(|b| half::f16::from_le_bytes(b).to_f32())),
            Dtype::BF16 => Ok(pairs(|b| half::bf16::from_le_bytes(b).to_f32())),
            other => Err(format!("{name} is {other:?}; F32, F16 or BF16 expected")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use safetensors::tensor::TensorView;

    fn write(tensors: Vec<(&str, Dtype, Vec<usize>, Vec<u8>)>) -> tempfile::NamedTempFile {
        let views: Vec<(&str, TensorView<'_>)> = tensors
            .iter()
            .map(|(n, d, s, b)| (*n, TensorView::new(*d, s.clone(), b).unwrap()))
            .collect();
        let bytes = safetensors::serialize(views, None).unwrap();
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), bytes).unwrap();
        f
    }

    #[test]
    fn tensors_read_one_at_a_time_in_each_float_type() {
        let f32s: Vec<u8> = [1.5f32, -2.0, 0.25, 8.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let f16s: Vec<u8> = [0.5f32, -1.0]
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect();
        let bf16s: Vec<u8> = [3.0f32, -0.125]
            .iter()
            .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
            .collect();
        let f = write(vec![
            ("a", Dtype::F32, vec![2, 2], f32s),
            ("b", Dtype::F16, vec![2], f16s),
            ("c", Dtype::BF16, vec![2], bf16s),
        ]);
        let ck = Checkpoint::open(f.path()).unwrap();
        assert!(ck.contains("a") && !ck.contains("d"));
        assert_eq!(ck.f32("a", &[2, 2]).unwrap(), vec![1.5, -2.0, 0.25, 8.0]);
        assert_eq!(ck.f32("b", &[2]).unwrap(), vec![0.5, -1.0]);
        assert_eq!(ck.f32("c", &[2]).unwrap(), vec![3.0, -0.125]);
        let e = ck.f32("a", &[4]).unwrap_err();
        assert!(e.contains("shape [2, 2], expected [4]"), "{e}");
        assert!(ck.f32("d", &[1]).unwrap_err().contains("missing tensor d"));
    }

    #[test]
    fn a_cut_or_garbled_file_is_an_error_naming_the_problem() {
        let bytes: Vec<u8> = (0..64u8).collect();
        let f = write(vec![("a", Dtype::F32, vec![4, 4], bytes)]);
        let whole = std::fs::read(f.path()).unwrap();
        // Cut inside the tensor data.
        std::fs::write(f.path(), &whole[..whole.len() - 10]).unwrap();
        let e = Checkpoint::open(f.path()).err().unwrap();
        assert!(e.contains("the header describes 64 bytes"), "{e}");
        // A header length past the end.
        let mut bad = whole.clone();
        bad[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        std::fs::write(f.path(), &bad).unwrap();
        let e = Checkpoint::open(f.path()).err().unwrap();
        assert!(e.contains("does not fit the file"), "{e}");
        // Not JSON.
        let mut bad = whole;
        bad[8] = b'#';
        std::fs::write(f.path(), &bad).unwrap();
        assert!(Checkpoint::open(f.path())
            .err()
            .unwrap()
            .starts_with("header:"));
        // Too short for a header.
        std::fs::write(f.path(), b"abc").unwrap();
        assert!(Checkpoint::open(f.path())
            .err()
            .unwrap()
            .contains("shorter than"));
    }
}
