//! Values without modifiers: null and empty, wildcards and their escapes, numbers against text,
//! arrays, keyword lists and `'|all'` keywords (the specification's "Detection" section).

use super::arr;
use spoor_event::Value;

#[test]
fn null_matches_a_missing_null_or_empty_field() {
    let det = [
        "sel: {EventID: 4738}",
        "filter: {PasswordLastSet: null}",
        "condition: sel and not filter",
    ];
    sigma_match!(det, ev!{"EventID" => 4738i64, "PasswordLastSet" => "2024-07-08"} => true);
    sigma_match!(det, ev!{"EventID" => 4738i64} => false);
    sigma_match!(det, ev!{"EventID" => 4738i64, "PasswordLastSet" => Value::Null} => false);
    sigma_match!(det, ev!{"EventID" => 4738i64, "PasswordLastSet" => ""} => false);
    sigma_match!(["sel: {A: ~}", "condition: sel"], ev!{"B" => "x"} => true);
    sigma_match!(["sel: {A: null}", "condition: sel"], ev!{"A" => "x"} => false);
}

#[test]
fn empty_string_needs_an_empty_value() {
    let det = ["sel: {CommandLine: ''}", "condition: sel"];
    sigma_match!(det, ev!{"CommandLine" => ""} => true);
    sigma_match!(det, ev!{"CommandLine" => " "} => false);
    sigma_match!(det, ev!{"Image" => "x"} => false);
}

#[test]
fn wildcards() {
    // A backslash before `*` escapes it; `\\*` is a backslash and then a wildcard.
    let star = [r"sel: {Image: 'C:\Windows\\*\cmd.exe'}", "condition: sel"];
    sigma_match!(star, ev!{"Image" => r"C:\Windows\System32\cmd.exe"} => true);
    sigma_match!(star, ev!{"Image" => r"C:\Windows\cmd.exe"} => false);
    let one = ["sel: {Image: 'prog?.exe'}", "condition: sel"];
    sigma_match!(one, ev!{"Image" => "prog1.exe"} => true);
    sigma_match!(one, ev!{"Image" => "prog.exe"} => false);
    sigma_match!(one, ev!{"Image" => "prog12.exe"} => false);
    // `?` is one character, not one byte.
    sigma_match!(one, ev!{"Image" => "progé.exe"} => true);
    sigma_match!(["sel: {Image: '*'}", "condition: sel"], ev!{"Image" => ""} => true);
    sigma_match!(["sel: {Image: '*'}", "condition: sel"], ev!{"Other" => ""} => false);
    sigma_match!(["sel: {Image: 'a*b*c'}", "condition: sel"], ev!{"Image" => "ABXC"} => true);
    sigma_match!(["sel: {Image: 'a*b*c'}", "condition: sel"], ev!{"Image" => "ACXB"} => false);
}

#[test]
fn escaping_follows_the_specification() {
    // `\*` and `\?` are literal; `\\` is one backslash; a lone `\` before other text is literal.
    let star = [r"sel: {F: 'a\*b'}", "condition: sel"];
    sigma_match!(star, ev!{"F" => "a*b"} => true);
    sigma_match!(star, ev!{"F" => "axb"} => false);
    let q = [r"sel: {F: 'a\?b'}", "condition: sel"];
    sigma_match!(q, ev!{"F" => "a?b"} => true);
    sigma_match!(q, ev!{"F" => "axb"} => false);
    let plain = [r"sel: {F: 'C:\Windows\System32'}", "condition: sel"];
    sigma_match!(plain, ev!{"F" => r"C:\Windows\System32"} => true);
    let doubled = [r"sel: {F: 'C:\\Windows'}", "condition: sel"];
    sigma_match!(doubled, ev!{"F" => r"C:\Windows"} => true);
    sigma_match!(doubled, ev!{"F" => r"C:\\Windows"} => false);
    // `\\*`: a backslash, then a wildcard.
    let trail = [r"sel: {F: 'dir\\*'}", "condition: sel"];
    sigma_match!(trail, ev!{"F" => r"dir\anything"} => true);
    sigma_match!(trail, ev!{"F" => r"dir*"} => false);
    // `\\\*`: a backslash and a literal star.
    let both = [r"sel: {F: 'dir\\\*'}", "condition: sel"];
    sigma_match!(both, ev!{"F" => r"dir\*"} => true);
    sigma_match!(both, ev!{"F" => r"dir\x"} => false);
    // With contains the escapes still hold.
    let c = [r"sel: {F|contains: '\*'}", "condition: sel"];
    sigma_match!(c, ev!{"F" => "a*b"} => true);
    sigma_match!(c, ev!{"F" => "ab"} => false);
}

#[test]
fn numbers_and_strings() {
    let n = ["sel: {EventID: 4688}", "condition: sel"];
    sigma_match!(n, ev!{"EventID" => 4688i64} => true);
    sigma_match!(n, ev!{"EventID" => "4688"} => true);
    sigma_match!(n, ev!{"EventID" => Value::Float(4688.0)} => true);
    sigma_match!(n, ev!{"EventID" => 46880i64} => false);
    sigma_match!(n, ev!{"EventID" => "4688 "} => false);
    let s = ["sel: {EventID: '4688'}", "condition: sel"];
    sigma_match!(s, ev!{"EventID" => 4688i64} => true);
    sigma_match!(s, ev!{"EventID" => "4688"} => true);
    // A hex number matches as written and by value.
    let hex = ["sel: {TicketEncryptionType: 0x17}", "condition: sel"];
    sigma_match!(hex, ev!{"TicketEncryptionType" => "0x17"} => true);
    sigma_match!(hex, ev!{"TicketEncryptionType" => 23i64} => true);
    sigma_match!(hex, ev!{"TicketEncryptionType" => "0x12"} => false);
    // A number with a string modifier is text.
    let c = ["sel: {EventID|startswith: 46}", "condition: sel"];
    sigma_match!(c, ev!{"EventID" => 4688i64} => true);
    sigma_match!(c, ev!{"EventID" => 5688i64} => false);
    // Booleans are their text.
    sigma_match!(["sel: {Initiated: true}", "condition: sel"], ev!{"Initiated" => "true"} => true);
    sigma_match!(["sel: {Initiated: true}", "condition: sel"], ev!{"Initiated" => true} => true);
    sigma_match!(["sel: {Initiated: true}", "condition: sel"], ev!{"Initiated" => false} => false);
}

#[test]
fn lists_are_or_and_maps_are_and() {
    let list = [
        "sel: {Image|endswith: ['\\a.exe', '\\b.exe']}",
        "condition: sel",
    ];
    sigma_match!(list, ev!{"Image" => "C:\\b.exe"} => true);
    sigma_match!(list, ev!{"Image" => "C:\\c.exe"} => false);
    let map = [
        "sel: {Image|endswith: '\\a.exe', User: x}",
        "condition: sel",
    ];
    sigma_match!(map, ev!{"Image" => "C:\\a.exe", "User" => "X"} => true);
    sigma_match!(map, ev!{"Image" => "C:\\a.exe", "User" => "y"} => false);
    // A list of maps is an OR of ANDs.
    let lm = ["sel: [{A: 1, B: 2}, {C: 3}]", "condition: sel"];
    sigma_match!(lm, ev!{"A" => 1i64, "B" => 2i64} => true);
    sigma_match!(lm, ev!{"A" => 1i64} => false);
    sigma_match!(lm, ev!{"C" => "3"} => true);
    // Long lists take the engine's fast path (automaton and hash set); same answers.
    let long = [
        "sel: {Image|contains: [aa, bb, cc, dd, ee, ff]}",
        "condition: sel",
    ];
    sigma_match!(long, ev!{"Image" => "xxEEyy"} => true);
    sigma_match!(long, ev!{"Image" => "abcdef"} => false);
    let eq = ["sel: {Image: [aa, bb, cc, dd, 'e*e']}", "condition: sel"];
    sigma_match!(eq, ev!{"Image" => "DD"} => true);
    sigma_match!(eq, ev!{"Image" => "exxe"} => true);
    sigma_match!(eq, ev!{"Image" => "ddd"} => false);
}

#[test]
fn arrays_match_element_wise() {
    let det = ["sel: {Tags: admin}", "condition: sel"];
    sigma_match!(det, ev!{"Tags" => arr(["user".into(), "Admin".into()])} => true);
    sigma_match!(det, ev!{"Tags" => arr(["user".into()])} => false);
    sigma_match!(det, ev!{"Tags" => arr([])} => false);
    sigma_match!(["sel: {Ids: 5}", "condition: sel"], ev!{"Ids" => arr([Value::Int(4), Value::Int(5)])} => true);
    // Nested arrays are flattened.
    sigma_match!(det, ev!{"Tags" => arr([arr(["Admin".into()])])} => true);
    // A field that occurs twice: either occurrence.
    sigma_match!(det, ev!{"Tags" => "user", "Tags" => "admin"} => true);
}

#[test]
fn field_names_are_exact() {
    sigma_match!(["sel: {Image: x}", "condition: sel"], ev!{"image" => "x"} => false);
    sigma_match!(["sel: {Image: x}", "condition: sel"], ev!{"Image" => "x"} => true);
}

#[test]
fn keywords_search_every_field_and_the_raw_line() {
    let det = [
        "keywords: ['event::clear', 'event::drop']",
        "condition: keywords",
    ];
    sigma_match!(det, ev!{"CommandLine" => "mimikatz EVENT::Drop"} => true);
    sigma_match!(det, ev!{"A" => "x", "B" => "privilege::debug event::clear"} => true);
    sigma_match!(det, ev!{"CommandLine" => "event::list"} => false);
    let mut raw = ev! {"A" => "x"};
    raw.raw = Some("2024-07-08 mimikatz event::clear".into());
    sigma_match!(det, raw => true);
    // Keywords see numbers as text and arrays element-wise.
    sigma_match!(["kw: [4688]", "condition: kw"], ev!{"EventID" => 4688i64} => true);
    sigma_match!(["kw: [evil]", "condition: kw"], ev!{"L" => arr(["ok".into(), "so evil".into()])} => true);
    // Keywords take wildcards.
    sigma_match!(["kw: ['a*z']", "condition: kw"], ev!{"F" => "xxA-to-Zxx"} => true);
    sigma_match!(["kw: ['a*z']", "condition: kw"], ev!{"F" => "z-to-a"} => false);
}

#[test]
fn all_keywords_need_every_value() {
    let det = [
        "keywords_cmdlet: {'|all': ['OabVirtualDirectory', ' -ExternalUrl ']}",
        "condition: keywords_cmdlet",
    ];
    sigma_match!(det, ev!{"Payload" => "Set-OabVirtualDirectory -ExternalUrl http://x"} => true);
    // Different fields may hold different keywords.
    sigma_match!(det, ev!{"A" => "Set-OabVirtualDirectory", "B" => "x -ExternalUrl y"} => true);
    sigma_match!(det, ev!{"Payload" => "Set-OabVirtualDirectory -InternalUrl http://x"} => false);
}

#[test]
fn a_trailing_backslash_does_not_escape_the_added_wildcard() {
    // `'C:\Windows\System32\'` ends in a backslash (629 SigmaHQ rule files have such values);
    // startswith/contains/endswith add wildcards to the parsed value, not to its text.
    let image = r"C:\Windows\System32\cmd.exe";
    sigma_match!([r"sel: {Image|startswith: 'C:\Windows\System32\'}", "condition: sel"], ev!{"Image" => image} => true);
    sigma_match!([r"sel: {Image|contains: '\System32\'}", "condition: sel"], ev!{"Image" => image} => true);
    sigma_match!([r"sel: {Image|endswith: '\System32\'}", "condition: sel"], ev!{"Image" => r"C:\Windows\System32\"} => true);
    sigma_match!([r"kw: ['\System32\']", "condition: kw"], ev!{"Image" => image} => true);
    // The literal star that the old concatenation produced must not be what matches.
    sigma_match!([r"sel: {Image|startswith: 'C:\Windows\System32\'}", "condition: sel"], ev!{"Image" => r"C:\Windows\System32*"} => false);
}

#[test]
fn case_folding_is_per_character() {
    // Final sigma: `Σ` folds to `σ` wherever it stands, in the rule and in the event.
    sigma_match!(["sel: {F|contains: 'Σ'}", "condition: sel"], ev!{"F" => "ΟΔΥΣΣΕΥΣ"} => true);
    sigma_match!(["sel: {F: 'οδυσσευσ'}", "condition: sel"], ev!{"F" => "ΟΔΥΣΣΕΥΣ"} => true);
    sigma_match!(["sel: {F: 'ÉTÉ'}", "condition: sel"], ev!{"F" => "été"} => true);
    sigma_match!(["sel: {F|cased: 'ÉTÉ'}", "condition: sel"], ev!{"F" => "été"} => false);
}
