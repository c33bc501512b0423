//! Loading and compiling rules: built-in and user sources go into one yara-x `Compiler`, which
//! is built ONCE into an immutable [`YaraRules`] shared by every scanning thread.

use crate::builtin::BUILTIN_NAMESPACE;
use crate::error::{RuleCompileError, YaraError};
use crate::meta2rule::rule_meta;
use crate::scanner::FileScanner;
use crate::ScanOptions;
use spoor_event::RuleMeta;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One source to compile.
#[derive(Debug, Clone)]
struct RuleSource {
    /// File path, or `builtin:<name>`.
    origin: String,
    /// yara-x namespace: built-ins share one; each user file has its own (its path), so that two
    /// files may use the same rule name.
    namespace: String,
    text: String,
}

/// Collects rule sources, then compiles them once with [`YaraRulesBuilder::build`].
///
/// ```
/// let rules = spoor_yara::YaraRulesBuilder::new()
///     .add_source("inline.yar", r#"rule hello { strings: $a = "hello" condition: $a }"#)
///     .build()
///     .unwrap();
/// assert_eq!(rules.len(), 1);
/// ```
#[derive(Debug, Clone)]
pub struct YaraRulesBuilder {
    sources: Vec<RuleSource>,
}

impl Default for YaraRulesBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl YaraRulesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        YaraRulesBuilder {
            sources: Vec::new(),
        }
    }

    /// Adds a file of the built-in pack (`spoor_pack::yara_rules()`): compiled in the
    /// namespace [`BUILTIN_NAMESPACE`], named `builtin:<name>` in errors and findings.
    pub fn add_builtin(mut self, name: &str, text: &str) -> Self {
        self.sources.push(RuleSource {
            origin: format!("builtin:{name}"),
            namespace: BUILTIN_NAMESPACE.to_string(),
            text: text.to_string(),
        });
        self
    }

    /// Adds rule text; `origin` names it in errors and findings (`RuleMeta::path`).
    pub fn add_source(mut self, origin: &str, text: &str) -> Self {
        self.sources.push(RuleSource {
            origin: origin.to_string(),
            namespace: origin.to_string(),
            text: text.to_string(),
        });
        self
    }

    /// Adds a rule file, or every `.yar` / `.yara` file under a folder (recursively, sorted by
    /// path). Returns the builder and how many files were added.
    pub fn add_path(mut self, path: &Path) -> Result<(Self, usize), YaraError> {
        let read_err = |p: &Path, e: std::io::Error| YaraError::Read {
            path: p.to_path_buf(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(|e| read_err(path, e))?;
        let files: Vec<PathBuf> = if meta.is_dir() {
            let mut files = Vec::new();
            for entry in walkdir::WalkDir::new(path).follow_links(true) {
                let entry = entry.map_err(|e| {
                    let p = e.path().unwrap_or(path).to_path_buf();
                    read_err(&p, std::io::Error::other(e.to_string()))
                })?;
                if entry.file_type().is_file() && is_rule_file(entry.path()) {
                    files.push(entry.into_path());
                }
            }
            files.sort();
            if files.is_empty() {
                return Err(YaraError::NoRuleFiles {
                    path: path.to_path_buf(),
                });
            }
            files
        } else {
            vec![path.to_path_buf()]
        };
        let n = files.len();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| read_err(&file, e))?;
            // Invalid UTF-8 is reported by the compiler with its location; keep the text lossy
            // here only for locating lines.
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let origin = file.display().to_string();
            self.sources.push(RuleSource {
                namespace: origin.clone(),
                origin,
                text,
            });
        }
        Ok((self, n))
    }

    /// Compiles everything. All compile errors of all files are returned together, each with
    /// its file, line and column; any error fails the build (a user's broken rule is never
    /// dropped silently).
    pub fn build(self) -> Result<YaraRules, YaraError> {
        let all = self.sources;
        if all.is_empty() {
            return Err(YaraError::NoRules);
        }
        let mut compiler = yara_x::Compiler::new();
        compiler.relaxed_re_syntax(true);
        for src in &all {
            compiler.new_namespace(&src.namespace);
            // Errors are collected by the compiler; the first one is also returned here.
            let _ = compiler.add_source(
                yara_x::SourceCode::from(src.text.as_str()).with_origin(src.origin.as_str()),
            );
        }
        let errors: Vec<RuleCompileError> = compiler
            .errors()
            .iter()
            .map(|e| locate_error(e, &all))
            .collect();
        if !errors.is_empty() {
            return Err(YaraError::Compile(errors));
        }
        let warnings: Vec<String> = compiler.warnings().iter().map(|w| w.to_string()).collect();
        let rules = compiler.build();
        let origins: HashMap<&str, &str> = all
            .iter()
            .map(|s| (s.namespace.as_str(), s.origin.as_str()))
            .collect();
        let mut metas = HashMap::new();
        for rule in rules.iter() {
            let origin = origins.get(rule.namespace()).copied();
            metas.insert(
                (rule.namespace().to_string(), rule.identifier().to_string()),
                Arc::new(rule_meta(&rule, origin)),
            );
        }
        Ok(YaraRules {
            rules,
            metas,
            warnings,
        })
    }
}

fn is_rule_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara"))
        .unwrap_or(false)
}

/// Finds file, line and column of a compile error from its first label's span.
fn locate_error(err: &yara_x::errors::CompileError, sources: &[RuleSource]) -> RuleCompileError {
    let mut origin = String::from("<unknown>");
    let (mut line, mut column) = (0, 0);
    let mut message = String::new();
    if let Some(label) = err.labels().next() {
        if let Some(o) = label.origin() {
            origin = o.to_string();
        }
        message = label.text().to_string();
        let start = label.span().range().start;
        if let Some(src) = sources.iter().find(|s| s.origin == origin) {
            (line, column) = line_col(&src.text, start);
        }
    }
    RuleCompileError {
        origin,
        line,
        column,
        code: err.code().to_string(),
        title: err.title().to_string(),
        message,
        report: err.to_string(),
    }
}

/// 1-based line and byte column of `offset` in `text` (clamped to its end).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let upto = bytes.get(..offset.min(bytes.len())).unwrap_or_default();
    let line = upto.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match upto.iter().rposition(|&b| b == b'\n') {
        Some(nl) => upto.len() - nl,
        None => upto.len() + 1,
    };
    (line, col)
}

/// A compiled, immutable rule set, shared by all scanning threads (it is `Send + Sync`).
pub struct YaraRules {
    rules: yara_x::Rules,
    metas: HashMap<(String, String), Arc<RuleMeta>>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraRules")
            .field("rules", &self.metas.len())
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

impl YaraRules {
    /// Number of rules (built-in and user).
    pub fn len(&self) -> usize {
        self.metas.len()
    }

    /// True when there is no rule.
    pub fn is_empty(&self) -> bool {
        self.metas.is_empty()
    }

    /// Compiler warnings (slow patterns and the like), rendered, for the run summary.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The metadata of every rule, sorted by id (for `rules list`-style output).
    pub fn rule_metas(&self) -> Vec<Arc<RuleMeta>> {
        let mut v: Vec<Arc<RuleMeta>> = self.metas.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The metadata of one rule.
    pub fn meta(&self, namespace: &str, identifier: &str) -> Option<&Arc<RuleMeta>> {
        self.metas
            .get(&(namespace.to_string(), identifier.to_string()))
    }

    /// A scanner for one thread.
    pub fn scanner(&self, options: &ScanOptions) -> FileScanner<'_> {
        FileScanner::new(self, options.clone())
    }

    pub(crate) fn inner(&self) -> &yara_x::Rules {
        &self.rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack() -> YaraRulesBuilder {
        spoor_pack::yara_rules()
            .iter()
            .fold(YaraRulesBuilder::new(), |b, (n, t)| b.add_builtin(n, t))
    }

    #[test]
    fn builtin_rules_compile_without_warnings() {
        let rules = pack().build().unwrap();
        assert!(rules.len() >= 12, "{} rules", rules.len());
        assert!(rules.warnings().is_empty(), "{:#?}", rules.warnings());
        for m in rules.rule_metas() {
            assert!(m.id.starts_with("spoor:spoor_webshell_"), "{}", m.id);
            assert!(m.description.is_some(), "{} has no description", m.id);
            assert!(
                m.attack.techniques.iter().any(|t| t == "T1505.003"),
                "{} lacks T1505.003",
                m.id
            );
            assert_eq!(
                m.attack.tactics.first().map(String::as_str),
                Some("persistence")
            );
            assert_eq!(m.path.as_deref(), Some("builtin:webshells.yar"));
        }
    }

    #[test]
    fn compile_errors_have_file_and_line() {
        let bad = "rule ok { condition: true }\n\nrule broken {\n  strings: $a = \"x\"\n  condition: $b\n}\n";
        let err = YaraRulesBuilder::new()
            .add_source("user/bad.yar", bad)
            .add_source("user/worse.yar", "rule {")
            .build()
            .unwrap_err();
        let YaraError::Compile(errors) = err else {
            panic!("expected compile errors, got {err}")
        };
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert_eq!(errors[0].origin, "user/bad.yar");
        assert_eq!(errors[0].line, 5);
        assert_eq!(errors[0].column, 14);
        assert!(errors[0].report.contains("$b"), "{}", errors[0].report);
        assert_eq!(errors[1].origin, "user/worse.yar");
        assert_eq!(errors[1].line, 1);
        assert_eq!(errors[1].code, "E001");
        assert!(errors[1].to_string().starts_with("user/worse.yar:1:"));
        assert!(!errors[1].message.is_empty());
        let all = YaraError::Compile(errors).to_string();
        assert!(
            all.starts_with("2 YARA compile error(s):\nuser/bad.yar:5:14: error["),
            "{all}"
        );
        assert!(all.contains("\nuser/worse.yar:1:"), "{all}");
    }

    #[test]
    fn modules_left_out_of_the_build_are_compile_errors() {
        let err = YaraRulesBuilder::new()
            .add_source(
                "pe.yar",
                "import \"pe\"\nrule dll { condition: pe.is_dll() }",
            )
            .build()
            .unwrap_err();
        let YaraError::Compile(errors) = err else {
            panic!("expected a compile error, got {err}")
        };
        assert_eq!((errors[0].origin.as_str(), errors[0].line), ("pe.yar", 1));
        assert!(
            errors[0].title.contains("unknown module"),
            "{:?}",
            errors[0]
        );
        // The modules kept in the build work.
        assert!(YaraRulesBuilder::new()
            .add_source("h.yar", "import \"hash\"\nimport \"math\"\nrule h { condition: hash.md5(0, filesize) != \"\" and math.entropy(0, filesize) >= 0 }")
            .build()
            .is_ok());
    }

    #[test]
    fn same_rule_name_in_two_files() {
        let r = "rule dup { condition: true }";
        let rules = YaraRulesBuilder::new()
            .add_source("a.yar", r)
            .add_source("b.yar", r)
            .build()
            .unwrap();
        assert_eq!(rules.len(), 2);
        assert!(rules.meta("a.yar", "dup").is_some());
    }

    #[test]
    fn folders_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(
            dir.path().join("sub/one.YAR"),
            "rule one { condition: true }",
        )
        .unwrap();
        std::fs::write(dir.path().join("two.yara"), "rule two { condition: false }").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "rule three {").unwrap();
        let (b, n) = YaraRulesBuilder::new().add_path(dir.path()).unwrap();
        assert_eq!(n, 2);
        assert_eq!(b.build().unwrap().len(), 2);

        let empty = tempfile::tempdir().unwrap();
        let err = YaraRulesBuilder::new().add_path(empty.path()).unwrap_err();
        assert!(matches!(err, YaraError::NoRuleFiles { .. }), "{err}");
        let err = YaraRulesBuilder::new()
            .add_path(&dir.path().join("absent.yar"))
            .unwrap_err();
        assert!(matches!(err, YaraError::Read { .. }), "{err}");
        assert!(matches!(
            YaraRulesBuilder::new().build(),
            Err(YaraError::NoRules)
        ));
    }

    #[test]
    fn line_col_edges() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
        assert_eq!(line_col("a\n", 99), (2, 1));
    }
}
