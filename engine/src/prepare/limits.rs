//! Size limits a module must respect to be accepted.

/// Limits checked by [`crate::prepare::prepare_code`]. Every limit is
/// configurable; the defaults ([`ValidationLimits::default`]) are the chain's
/// and are listed in `specs/validation.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationLimits {
    /// Largest declared memory maximum, in 64 KiB pages (default 16 = 1 MiB).
    pub max_memory_pages: u32,
    /// Largest module, in bytes (default 512 KiB).
    pub max_code_size: usize,
    /// Most defined functions (default 4,096).
    pub max_functions: u32,
    /// Most locals per function, parameters included (default 1,024).
    pub max_locals: u32,
    /// Most globals (default 256).
    pub max_globals: u32,
    /// Most parameters of a function type (default 32).
    pub max_params: u32,
    /// Largest table size, in elements (default 4,096).
    pub max_table_size: u32,
    /// Most targets of one `br_table` (default 1,024).
    pub max_br_table_targets: u32,
    /// Most data segments (default 1,024).
    pub max_data_segments: u32,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        Self {
            max_memory_pages: 16,
            max_code_size: 512 * 1024,
            max_functions: 4_096,
            max_locals: 1_024,
            max_globals: 256,
            max_params: 32,
            max_table_size: 4_096,
            max_br_table_targets: 1_024,
            max_data_segments: 1_024,
        }
    }
}
