//! Where a file on disk is served on the web: the URL path a web shell would be requested at,
//! so that findings on disk can be tied to requests in the access logs.
//!
//! - A file under a web root is served at its path below the root, `\` turned into `/`
//!   (`C:\inetpub\wwwroot\aspnet_client\x.aspx` under `C:\inetpub\wwwroot` ->
//!   `/aspnet_client/x.aspx`). The comparison with the root is case-insensitive (IIS).
//! - A Tomcat compiled or translated JSP (`work/Catalina/<host>/<app>/org/apache/jsp/dir/foo_jsp.class`,
//!   `foo_jsp.java`, inner classes `foo_jsp$Inner.class`) is served at `/<app>/dir/foo.jsp`
//!   (`ROOT` -> `/dir/foo.jsp`), whatever the web root, by undoing Jasper's name mangling
//!   (`_` for `.`, `_XXXX` hex escapes for other punctuation, `_` before a leading digit).

use std::path::Path;

/// Java keywords Jasper prefixes with `_` when a folder is named after one.
const JAVA_KEYWORDS: &[&str] = &[
    "abstract",
    "assert",
    "boolean",
    "break",
    "byte",
    "case",
    "catch",
    "char",
    "class",
    "const",
    "continue",
    "default",
    "do",
    "double",
    "else",
    "enum",
    "extends",
    "final",
    "finally",
    "float",
    "for",
    "goto",
    "if",
    "implements",
    "import",
    "instanceof",
    "int",
    "interface",
    "long",
    "native",
    "new",
    "package",
    "private",
    "protected",
    "public",
    "return",
    "short",
    "static",
    "strictfp",
    "super",
    "switch",
    "synchronized",
    "this",
    "throw",
    "throws",
    "transient",
    "try",
    "void",
    "volatile",
    "while",
];

/// Path components, with `\` and `/` both taken as separators and `.` / empty ones dropped.
fn components(p: &str) -> Vec<&str> {
    p.split(['/', '\\'])
        .filter(|c| !c.is_empty() && *c != ".")
        .collect()
}

/// The URL path `file` is served at, given the web root it was found under. `None` when the
/// file is not under `webroot` and is not a Tomcat compiled JSP.
///
/// ```
/// use std::path::Path;
/// use spoor_yara::url_path;
/// assert_eq!(
///     url_path(Path::new("/srv/www"), Path::new("/srv/WWW/uploads/a.php")).as_deref(),
///     Some("/uploads/a.php")
/// );
/// assert_eq!(
///     url_path(Path::new("/x"), Path::new("/opt/tomcat/work/Catalina/localhost/app/org/apache/jsp/my_002dshell_jsp.class")).as_deref(),
///     Some("/app/my-shell.jsp")
/// );
/// ```
pub fn url_path(webroot: &Path, file: &Path) -> Option<String> {
    let file_s = file.to_string_lossy();
    let fc = components(&file_s);
    if let Some(u) = tomcat_url(&fc) {
        return Some(u);
    }
    let root_s = webroot.to_string_lossy();
    let rc = components(&root_s);
    if rc.len() >= fc.len() {
        return None;
    }
    let under = rc.iter().zip(&fc).all(|(a, b)| a.eq_ignore_ascii_case(b));
    if !under {
        return None;
    }
    let rest = fc.get(rc.len()..)?;
    Some(format!("/{}", rest.join("/")))
}

/// The URL path of a Tomcat compiled or translated JSP, whatever the web root; `None` for
/// any other file.
pub fn tomcat_url_path(file: &Path) -> Option<String> {
    let s = file.to_string_lossy();
    tomcat_url(&components(&s))
}

/// `.../<app>/org/apache/jsp/<dirs>/<name>_jsp[$Inner].(class|java)` -> `/<app>/<dirs>/<name>.jsp`.
fn tomcat_url(fc: &[&str]) -> Option<String> {
    let at = fc.windows(3).rposition(|w| w == ["org", "apache", "jsp"])?;
    let app = *fc.get(at.checked_sub(1)?)?;
    let (name, dirs) = fc.get(at + 3..)?.split_last()?;
    let base = name
        .strip_suffix(".class")
        .or_else(|| name.strip_suffix(".java"))?;
    let base = base.split('$').next().unwrap_or(base);
    let page = demangle(base);
    if !(page.ends_with(".jsp") || page.ends_with(".jspx")) {
        return None;
    }
    let mut url = String::new();
    if app != "ROOT" && app != "_" {
        url.push('/');
        url.push_str(app);
    }
    for d in dirs {
        url.push('/');
        url.push_str(&demangle_dir(d));
    }
    url.push('/');
    url.push_str(&page);
    Some(url)
}

fn demangle_dir(d: &str) -> String {
    match d.strip_prefix('_') {
        Some(rest) if JAVA_KEYWORDS.contains(&rest) => rest.to_string(),
        _ => demangle(d),
    }
}

/// Undoes Jasper's `makeJavaIdentifier`: `_XXXX` (4 hex digits of an ASCII punctuation
/// character) -> the character, other `_` -> `.`, a `_` before a leading digit dropped.
fn demangle(ident: &str) -> String {
    let ident = match ident.strip_prefix('_') {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
        _ => ident,
    };
    let chars: Vec<char> = ident.chars().collect();
    let mut out = String::with_capacity(ident.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        if c != '_' {
            out.push(c);
            i += 1;
            continue;
        }
        let escaped = chars
            .get(i + 1..i + 5)
            .filter(|h| h.iter().all(char::is_ascii_hexdigit))
            .and_then(|h| u32::from_str_radix(&h.iter().collect::<String>(), 16).ok())
            .and_then(char::from_u32)
            .filter(|ch| ch.is_ascii() && !ch.is_ascii_alphanumeric());
        match escaped {
            Some(ch) => {
                out.push(ch);
                i += 5;
            }
            None => {
                out.push('.');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(root: &str, file: &str) -> Option<String> {
        url_path(Path::new(root), Path::new(file))
    }

    #[test]
    fn web_root_suffix() {
        assert_eq!(
            u(
                r"C:\inetpub\wwwroot",
                r"C:\Inetpub\wwwroot\aspnet_client\system_web\x.aspx"
            )
            .as_deref(),
            Some("/aspnet_client/system_web/x.aspx")
        );
        assert_eq!(
            u("/var/www/", "/var/www/a/./b.php").as_deref(),
            Some("/a/b.php")
        );
        assert_eq!(u("/var/www", "/var/www"), None);
        assert_eq!(u("/var/www", "/var/wwwx/a.php"), None);
        assert_eq!(u("/var/www", "/srv/a.php"), None);
    }

    #[test]
    fn tomcat_compiled_forms() {
        let t = |f: &str| u("/nowhere", f);
        assert_eq!(
            t("/opt/tomcat/work/Catalina/localhost/ROOT/org/apache/jsp/Index_jsp$ProxyEndpoint$Attach.class")
                .as_deref(),
            Some("/Index.jsp")
        );
        assert_eq!(
            t("/opt/t/work/Catalina/localhost/manager/org/apache/jsp/admin/Nova_jsp.java")
                .as_deref(),
            Some("/manager/admin/Nova.jsp")
        );
        assert_eq!(
            t(r"D:\tomcat\work\Catalina\h\app\org\apache\jsp\_new\_1_002d2_005fa_jspx.class")
                .as_deref(),
            Some("/app/new/1-2_a.jspx")
        );
        assert_eq!(
            t("/w/app/org/apache/jsp/a_cafe_jsp.class").as_deref(),
            Some("/app/a.cafe.jsp")
        );
        // Not a JSP page (tag file, plain class).
        assert_eq!(t("/w/app/org/apache/jsp/tag/web/x_tag.class"), None);
        assert_eq!(t("/w/app/org/apache/jsp/Helper.class"), None);
        assert_eq!(t("/org/apache/jsp/x_jsp.class"), None);
    }
}
