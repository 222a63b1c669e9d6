use serde::{Deserialize, Serialize};

/// One entry of a package's inventory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Normalised `/`-separated path inside the archive. Entries of an archive
    /// nested inside the package are written `outer.zip!/inner/path`.
    pub path: String,
    pub size: u64,
    /// Lowercase hex sha256 of the content (of the empty string for links).
    pub sha256: String,
    pub kind: FileKind,
    /// Shannon entropy of the content in bits per byte (0–8).
    pub entropy: f32,
    /// Whether any execute bit is set in the archive's mode.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub executable: bool,
    /// Set for symbolic and hard links, which are recorded and never followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub kind: LinkKind,
    /// The link target exactly as the archive declares it.
    pub target: String,
    /// True when the target resolves outside the package (absolute, or `..` past the root).
    pub escapes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkKind {
    Symlink,
    Hardlink,
}

/// What a file is, from its name, its first bytes and (for scripts) its shebang.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Python,
    /// Compiled Python bytecode (`.pyc`).
    PythonBytecode,
    Javascript,
    Typescript,
    Shell,
    Powershell,
    Batch,
    Ruby,
    Rust,
    C,
    Cpp,
    Go,
    Java,
    Json,
    Toml,
    Yaml,
    Xml,
    Html,
    Css,
    Markdown,
    Text,
    /// Linux/BSD executable or shared object.
    Elf,
    /// Windows executable or DLL.
    Pe,
    /// macOS executable or dylib.
    Macho,
    Wasm,
    JavaClass,
    /// zip, tar, gzip, bzip2, xz, 7z, rar, …
    Archive,
    Image,
    Font,
    /// Anything else that is not text.
    Binary,
    Empty,
    Link,
}

impl FileKind {
    /// Native code that a package could execute.
    pub fn is_executable_binary(self) -> bool {
        matches!(self, Self::Elf | Self::Pe | Self::Macho)
    }

    /// Source code or a script that static analysis reads.
    pub fn is_source(self) -> bool {
        matches!(
            self,
            Self::Python
                | Self::Javascript
                | Self::Typescript
                | Self::Shell
                | Self::Powershell
                | Self::Batch
                | Self::Ruby
                | Self::Rust
                | Self::C
                | Self::Cpp
                | Self::Go
                | Self::Java
        )
    }
}
