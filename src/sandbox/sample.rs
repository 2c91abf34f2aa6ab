//! Deterministic sample data: the same ID always gets the same records.

/// splitmix64: a small, good-enough generator for sample data.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from text (FNV-1a), so each ID has its own stable stream.
    pub fn from_text(parts: &[&str]) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for part in parts {
            for b in part.bytes().chain(std::iter::once(0xff)) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        Rng(h)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `lo..hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo).max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }
}

/// Names, Chinese and English, as the vendors' examples carry them.
pub const PEOPLE: &[(&str, &str)] = &[
    ("张三", "Tom"),
    ("李四", "Lily"),
    ("王五", "Wang Wu"),
    ("赵六", "Zhao Liu"),
    ("陈晓明", "Chen Xiaoming"),
    ("Ishwar Gautam", "Ishwar Gautam"),
];

/// Free text typed by people: commas, quotes, newlines, CJK, and a few hostile strings that
/// the table and CSV output must neutralise.
pub const REASONS: &[&str] = &[
    "因人员调整,变更部门负责人为张三",
    "年度组织架构调整",
    "Merged into \"Growth\", per Q3 plan",
    "Split team:\nplatform and apps",
    "新建部门",
    "=HYPERLINK(\"http://example.invalid\",\"click\")",
    "Budget cut \u{1b}[31mURGENT\u{1b}[0m",
    "Renamed \u{202e}txt.exe",
    "-2+3",
    "@SUM(A1:A9)",
];
