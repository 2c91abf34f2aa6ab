//! json (one array) and ndjson (one record per line): every record exactly as the API sent it.

use std::io::{self, BufWriter, Write};

use super::{Destination, Sink};
use crate::record::Record;

pub struct JsonArray {
    out: BufWriter<Destination>,
    first: bool,
}

impl JsonArray {
    pub fn new(out: BufWriter<Destination>) -> Self {
        JsonArray { out, first: true }
    }
}

impl Sink for JsonArray {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"[\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(record.raw.get().as_bytes())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(mut self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        self.out
            .write_all(if self.first { b"[]\n" } else { b"\n]\n" })?;
        Ok(self.out)
    }
}

pub struct Ndjson {
    out: BufWriter<Destination>,
}

impl Ndjson {
    pub fn new(out: BufWriter<Destination>) -> Self {
        Ndjson { out }
    }
}

impl Sink for Ndjson {
    fn write(&mut self, record: &Record) -> io::Result<()> {
        let raw = record.raw.get().as_bytes();
        if raw.iter().any(|b| *b == b'\n' || *b == b'\r') {
            write_compact(&mut self.out, raw)?;
        } else {
            self.out.write_all(raw)?;
        }
        self.out.write_all(b"\n")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(self: Box<Self>) -> io::Result<BufWriter<Destination>> {
        Ok(self.out)
    }
}

/// Writes JSON text without the whitespace between tokens (strings untouched), so that a
/// pretty-printed record still takes one line.
fn write_compact(out: &mut impl Write, raw: &[u8]) -> io::Result<()> {
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, &b) in raw.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
            out.write_all(&raw[start..i])?;
            start = i + 1;
        }
    }
    out.write_all(&raw[start..])
}

#[cfg(test)]
mod tests {
    #[test]
    fn compacting_keeps_strings_whole() {
        let raw = b"{\n  \"a b\": \"x \\\" y\",\n  \"c\": [1, 2]\n}";
        let mut out = Vec::new();
        super::write_compact(&mut out, raw).expect("write");
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "{\"a b\":\"x \\\" y\",\"c\":[1,2]}"
        );
    }
}
