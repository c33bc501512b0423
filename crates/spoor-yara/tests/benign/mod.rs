//! Benign web-application files for false-positive tests and benches: hand-written near-misses
//! (ordinary pages that read parameters, call `exec` or `eval` on their own data, mention
//! `cmd.exe /c` in help text...) and a generator of a varied, realistic folder.

#![allow(dead_code)]

/// Files that look like web shells in one way or another but are not.
pub fn near_misses() -> Vec<(String, Vec<u8>)> {
    let f = |p: &str, s: &str| (p.to_string(), s.as_bytes().to_vec());
    vec![
        f("php/index.php", "<?php\ninclude 'header.php';\nrequire_once __DIR__ . '/lib/db.php';\n$q = $_GET['q'] ?? '';\necho htmlspecialchars($q, ENT_QUOTES);\ninclude 'footer.php';\n"),
        f("php/backup.php", "<?php\n// nightly job, run from cron only\nexec('tar czf /backup/site.tgz /var/www/html', $out, $rc);\nsystem('sync');\n"),
        f("php/calc.php", "<?php\n$expr = '1 + 2';\n$r = eval('return ' . $expr . ';');\necho intval($_POST['n']) + $r;\n"),
        f("php/clean.php", "<?php\n$name = preg_replace('/\\s+/', ' ', $_POST['name']);\n$slug = preg_replace('#[^a-z0-9]+#i', '-', $_GET['title']);\n$file = preg_replace('/file/', 'doc', $_GET['x']);\n"),
        f("php/plugin.php", "<?php\n$cb = create_function('$a', 'return $a * 2;');\n$data = base64_decode($_POST['blob']);\n$decoded = gzinflate(base64_decode($stored));\n"),
        f("php/router.php", "<?php\n$action = $_GET['action'];\n$allowed = ['list' => 'do_list', 'show' => 'do_show'];\nif (isset($allowed[$action])) { call_user_func($allowed[$action], $_GET); }\n"),
        f("aspx/Default.aspx", "<%@ Page Language=\"C#\" AutoEventWireup=\"true\" CodeBehind=\"Default.aspx.cs\" Inherits=\"Site._Default\" %>\n<html><body><form runat=\"server\"><asp:Label ID=\"L\" runat=\"server\" /></form>\n<% L.Text = Server.HtmlEncode(Request.QueryString[\"id\"]); %></body></html>\n"),
        f("aspx/Status.aspx", "<%@ Page Language=\"C#\" %>\n<%@ Import Namespace=\"System.Diagnostics\" %>\n<script runat=\"server\">\nvoid Page_Load(object s, EventArgs e) {\n  var sw = new Stopwatch(); sw.Start();\n  var me = Process.GetCurrentProcess();\n  Response.Write(me.WorkingSet64 + \" \" + Request.QueryString[\"v\"] + \" \" + sw.ElapsedMilliseconds);\n}\n</script>\n"),
        f("aspx/Plugins.aspx", "<%@ Page Language=\"C#\" %>\n<script runat=\"server\">\nvoid Page_Load(object s, EventArgs e) {\n  var asm = System.Reflection.Assembly.Load(\"Site.Plugins\");\n  Response.Write(asm.FullName + Request[\"x\"]);\n}\n</script>\n"),
        f("aspx/help.html", "<html><body><p>To reset the cache run <code>cmd.exe /c iisreset</code> as administrator, or use powershell -c Restart-WebAppPool.</p></body></html>\n"),
        f("aspx/Upload.ashx", "<%@ WebHandler Language=\"C#\" Class=\"Upload\" %>\nusing System.Web;\npublic class Upload : IHttpHandler {\n  public void ProcessRequest(HttpContext ctx) {\n    var f = ctx.Request.Files[0];\n    f.SaveAs(ctx.Server.MapPath(\"~/App_Data/\" + System.IO.Path.GetFileName(f.FileName)));\n  }\n  public bool IsReusable => true;\n}\n"),
        f("jsp/hello.jsp", "<%@ page contentType=\"text/html;charset=UTF-8\" %>\n<% String n = request.getParameter(\"name\"); %>\n<p>Hello <%= org.apache.commons.text.StringEscapeUtils.escapeHtml4(n) %></p>\n<p>Free memory: <%= Runtime.getRuntime().freeMemory() %></p>\n"),
        f("jsp/res.jsp", "<%@ page import=\"java.util.*\" %>\n<%\n  ClassLoader cl = Thread.currentThread().getContextClassLoader();\n  java.net.URL u = cl.getResource(request.getParameter(\"r\"));\n  byte[] b = Base64.getDecoder().decode(\"aGVsbG8=\");\n  out.print(u + new String(b));\n%>\n"),
        f("jsp/admin.jspx", "<jsp:root xmlns:jsp=\"http://java.sun.com/JSP/Page\" version=\"2.0\"><jsp:directive.page contentType=\"text/html\"/>\n<jsp:scriptlet>String user = request.getHeader(\"X-User\"); out.print(user == null ? \"anon\" : user);</jsp:scriptlet></jsp:root>\n"),
        f("js/app.js", "function load(){ var req = new XMLHttpRequest(); req.onload = function(){ var data = eval('(' + req.responseText + ')'); render(data); }; req.open('GET','/api'); req.send(); }\nvar m = /(\\d+)-(\\d+)/.exec(location.hash);\n"),
        f("js/server.js", "const express = require('express'); const app = express();\napp.get('/sum', (req, res) => { const a = Number(req.query.a); res.json({ r: a + 1 }); });\nconst child = require('child_process'); child.execFile('/usr/bin/uptime', (e, o) => console.log(o));\n"),
        f("css/site.css", "/* never use eval( or expression() in styles */\n.eval-button { color: red; }\n.request-form { margin: 0 }\n"),
        f("py/views.py", "from flask import request, jsonify\n\n@app.route('/q')\ndef q():\n    term = request.args.get('q', '')\n    return jsonify(results=search(term), n=len(eval('[1, 2, 3]')))\n"),
        f("asp/old.asp", "<%\nDim id : id = Request(\"id\")\nResponse.Write Server.HTMLEncode(id)\nExecute(\"x = 1\")\n%>\n"),
        ("bin/Servlet.class".to_string(), java_class(&["com/example/Run", "java/lang/Runtime", "exec", "getParameter"])),
        ("work/org/apache/jsp/index_jsp.class".to_string(), java_class(&["org/apache/jsp/index_jsp", "getParameter", "javax/servlet/http/HttpServletRequest", "java/lang/Runtime", "freeMemory"])),
        ("mail/export.aspx".to_string(), pst_like(b"<html><body><script>alert('newsletter')</script></body></html>")),
        ("mail/backup.pst".to_string(), pst_like(b"<p>meeting notes, runat 9am</p>")),
    ]
}

/// A class-file-like buffer: magic, version and a constant pool of UTF-8 entries.
pub fn java_class(strings: &[&str]) -> Vec<u8> {
    let mut out = vec![0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 0x34];
    out.extend_from_slice(&(strings.len() as u16 + 1).to_be_bytes());
    for s in strings {
        out.push(1);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&[0, 0x21, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]);
    out
}

fn pst_like(body: &[u8]) -> Vec<u8> {
    let mut v = b"!BDN".to_vec();
    v.extend((0u8..=255).cycle().take(512));
    v.extend_from_slice(body);
    v
}

/// A small deterministic generator (xorshift64*), so the folder is the same on every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    pub fn word(&mut self) -> String {
        const W: &[&str] = &[
            "user", "order", "item", "cart", "price", "name", "title", "page", "news", "blog",
            "report", "invoice", "client", "account", "search", "login", "profile", "admin",
            "config", "upload", "image", "list", "detail", "status", "help",
        ];
        self.pick(W).to_string()
    }
}

/// `n` ordinary web-application files of many kinds, generated from `seed`.
pub fn generated_webapp(n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut r = Rng::new(seed);
    let mut out = Vec::with_capacity(n);
    let kinds = 16;
    for i in 0..n {
        let w = r.word();
        let w2 = r.word();
        let size = 500 + r.below(6_000);
        let (path, body): (String, Vec<u8>) = match i % kinds {
            0 => (
                format!("site/{w}/{w2}_{i}.php"),
                php_page(&mut r, &w, &w2).into_bytes(),
            ),
            1 => (
                format!("site/lib/{w}{i}.class.php"),
                php_class(&mut r, &w).into_bytes(),
            ),
            2 => (
                format!("iis/{w}/{w2}{i}.aspx"),
                aspx_page(&mut r, &w, &w2).into_bytes(),
            ),
            3 => (
                format!("iis/{w}/{w2}{i}.aspx.cs"),
                code_behind(&mut r, &w).into_bytes(),
            ),
            4 => (
                format!("iis/{w}/web{i}.config"),
                web_config(&mut r).into_bytes(),
            ),
            5 => (
                format!("tomcat/webapps/{w}/{w2}{i}.jsp"),
                jsp_page(&mut r, &w, &w2).into_bytes(),
            ),
            6 => (
                format!("static/js/{w}.{i}.min.js"),
                minified_js(&mut r, 1_500 + size).into_bytes(),
            ),
            7 => (
                format!("static/js/{w}{i}.js"),
                plain_js(&mut r, &w).into_bytes(),
            ),
            8 => (
                format!("static/css/{w}{i}.css"),
                css(&mut r, &w).into_bytes(),
            ),
            9 => (
                format!("static/{w}{i}.html"),
                html(&mut r, &w, &w2).into_bytes(),
            ),
            10 => (format!("api/{w}{i}.json"), json(&mut r, &w).into_bytes()),
            11 => (
                format!("static/img/{w}{i}.png"),
                binary(&mut r, b"\x89PNG\r\n\x1a\n", size),
            ),
            12 => (
                format!("static/img/{w}{i}.jpg"),
                binary(&mut r, b"\xff\xd8\xff\xe0\x00\x10JFIF", size),
            ),
            13 => (
                format!("tomcat/work/Catalina/localhost/{w}/org/apache/jsp/{w2}{i}_jsp.class"),
                java_class(&[
                    "org/apache/jsp/page_jsp",
                    "_jspService",
                    "getParameter",
                    "javax/servlet/jsp/JspWriter",
                    "print",
                    &w,
                ]),
            ),
            14 => (
                format!("iis/{w}/{w2}{i}.ashx"),
                ashx(&mut r, &w).into_bytes(),
            ),
            _ => (format!("docs/{w}{i}.txt"), text(&mut r, &w).into_bytes()),
        };
        out.push((path, body));
    }
    out
}

fn php_page(r: &mut Rng, w: &str, w2: &str) -> String {
    let mut s = format!("<?php\n/** {w} {w2} page */\ninclude __DIR__ . '/../inc/header.php';\nrequire_once 'lib/{w}.class.php';\n");
    for k in 0..(3 + r.below(20)) {
        match r.below(8) {
            0 => s += &format!("${w}{k} = isset($_GET['{w2}']) ? intval($_GET['{w2}']) : 0;\n"),
            1 => s += &format!("$stmt = $db->prepare('SELECT * FROM {w} WHERE id = ?');\n$stmt->execute([$_POST['id{k}'] ?? 0]);\n"),
            2 => s += &format!("echo '<td>' . htmlspecialchars($row['{w2}']) . '</td>';\n"),
            3 => s += &format!("if (!empty($_REQUEST['{w}'])) {{ $_SESSION['{w}'] = trim($_REQUEST['{w}']); }}\n"),
            4 => s += "$out = []; exec('date +%s', $out);\n$ts = (int) $out[0];\n",
            5 => s += &format!("$json = json_decode(file_get_contents('php://input'), true);\n$v{k} = $json['{w2}'] ?? null;\n"),
            6 => s += &format!("$s = preg_replace('/[^a-z0-9_]/i', '', $_GET['{w}'] ?? '');\n"),
            _ => s += &format!("function {w}_{k}($a) {{ return array_map('trim', (array) $a); }}\n"),
        }
    }
    s + "include __DIR__ . '/../inc/footer.php';\n"
}

fn php_class(r: &mut Rng, w: &str) -> String {
    let mut s =
        format!("<?php\nnamespace App\\Model;\n\nclass {w}Repository\n{{\n    private $db;\n");
    for k in 0..(2 + r.below(10)) {
        s += &format!("    public function find{k}(int $id): ?array\n    {{\n        $q = $this->db->query('SELECT * FROM {w} WHERE id = ' . (int) $id);\n        return $q->fetch() ?: null;\n    }}\n");
    }
    s + "    public function run(string $cmd): string { return shell_exec(escapeshellcmd('/usr/bin/' . basename($cmd))) ?? ''; }\n}\n"
}

fn aspx_page(r: &mut Rng, w: &str, w2: &str) -> String {
    let mut s = format!("<%@ Page Title=\"{w}\" Language=\"C#\" MasterPageFile=\"~/Site.Master\" AutoEventWireup=\"true\" CodeBehind=\"{w2}.aspx.cs\" Inherits=\"Web.{w2}\" %>\n<asp:Content ID=\"c1\" ContentPlaceHolderID=\"Main\" runat=\"server\">\n");
    for k in 0..(2 + r.below(12)) {
        match r.below(5) {
            0 => s += &format!("  <asp:TextBox ID=\"{w}{k}\" runat=\"server\" CssClass=\"form-control\" />\n"),
            1 => s += &format!("  <asp:GridView ID=\"g{k}\" runat=\"server\" DataSourceID=\"{w2}Source\" AllowPaging=\"true\" />\n"),
            2 => s += &format!("  <p><%: Request.QueryString[\"{w2}\"] %></p>\n"),
            3 => s += &format!("  <asp:Button ID=\"b{k}\" runat=\"server\" Text=\"Start\" OnClick=\"Start_Click\" />\n"),
            _ => s += &format!("  <script type=\"text/javascript\">$(function(){{ $('#{w}{k}').datepicker(); }});</script>\n"),
        }
    }
    s + "</asp:Content>\n"
}

fn code_behind(r: &mut Rng, w: &str) -> String {
    let mut s = format!("using System;\nusing System.Diagnostics;\nusing System.Web.UI;\n\nnamespace Web\n{{\n    public partial class {w} : Page\n    {{\n");
    for k in 0..(2 + r.below(8)) {
        s += &format!("        protected void Handler{k}(object sender, EventArgs e)\n        {{\n            var sw = Stopwatch.StartNew();\n            var v = Request.Form[\"{w}{k}\"];\n            Trace.Write(v + sw.ElapsedMilliseconds);\n        }}\n");
    }
    s + "    }\n}\n"
}

fn web_config(r: &mut Rng) -> String {
    format!("<?xml version=\"1.0\"?>\n<configuration>\n  <system.web>\n    <compilation debug=\"false\" targetFramework=\"4.{}\" />\n    <httpRuntime maxRequestLength=\"{}\" />\n  </system.web>\n  <system.webServer>\n    <handlers><add name=\"ashx\" path=\"*.ashx\" verb=\"*\" type=\"System.Web.UI.SimpleHandlerFactory\" /></handlers>\n  </system.webServer>\n</configuration>\n", r.below(9), 4096 * (1 + r.below(100)))
}

fn jsp_page(r: &mut Rng, w: &str, w2: &str) -> String {
    let mut s = format!("<%@ page contentType=\"text/html;charset=UTF-8\" language=\"java\" %>\n<%@ taglib prefix=\"c\" uri=\"http://java.sun.com/jsp/jstl/core\" %>\n<html><head><title>{w}</title></head><body>\n");
    for k in 0..(2 + r.below(12)) {
        match r.below(6) {
            0 => s += &format!("<c:out value=\"${{param.{w2}}}\" />\n"),
            1 => s += &format!("<% String v{k} = request.getParameter(\"{w}\"); if (v{k} != null) out.print(v{k}.length()); %>\n"),
            2 => s += &format!("<c:forEach items=\"${{{w}s}}\" var=\"x\"><li>${{x.name}}</li></c:forEach>\n"),
            3 => s += "<%= Runtime.getRuntime().availableProcessors() %> cpus\n",
            4 => s += &format!("<jsp:include page=\"/WEB-INF/{w2}.jsp\" />\n"),
            _ => s += &format!("<% session.setAttribute(\"{w}\", request.getHeader(\"Accept-Language\")); %>\n"),
        }
    }
    s + "</body></html>\n"
}

fn minified_js(r: &mut Rng, len: usize) -> String {
    const PARTS: &[&str] = &[
        "!function(e,t){\"use strict\";",
        "var n=/^(?:\\s*(<[\\w\\W]+>)[^>]*|#([\\w-]+))$/.exec(t);",
        "e.fn.extend({find:function(e){var t,n,r=this.length;for(t=0;t<r;t++)n=this[t];return n}});",
        "try{r=JSON.parse(s)}catch(o){r=(0,eval)(\"(\"+s+\")\")}",
        "function a(e){return null!=e&&e===e.window}",
        "var o=new XMLHttpRequest;o.open(\"POST\",u,!0);o.send(d);",
        "e.exec=function(t,n){return t.apply(n,arguments)};",
        "Request.prototype.send=function(){return this.xhr.send()};",
        "}(window,document);",
    ];
    let mut s = String::with_capacity(len + 200);
    while s.len() < len {
        s += r.pick(PARTS);
    }
    s
}

fn plain_js(r: &mut Rng, w: &str) -> String {
    let mut s = format!("// {w} widget\n'use strict';\n");
    for k in 0..(3 + r.below(10)) {
        s += &format!("function {w}{k}(req) {{\n  const q = new URLSearchParams(window.location.search);\n  return fetch('/api/{w}?id=' + encodeURIComponent(q.get('id') || '{k}')).then(r => r.json());\n}}\n");
    }
    s
}

fn css(r: &mut Rng, w: &str) -> String {
    let mut s = String::new();
    for k in 0..(5 + r.below(30)) {
        s += &format!(
            ".{w}-{k} {{ margin: {}px; color: #{:06x}; }}\n",
            r.below(40),
            r.next() & 0xff_ffff
        );
    }
    s + "/* eval( is not used here */\n"
}

fn html(r: &mut Rng, w: &str, w2: &str) -> String {
    let mut s = format!("<!DOCTYPE html>\n<html><head><title>{w}</title><script src=\"/static/js/{w2}.js\"></script></head><body>\n");
    for k in 0..(3 + r.below(15)) {
        s += &format!("<div class=\"{w}-{k}\"><a href=\"/{w2}.aspx?id={k}\">{w2} {k}</a></div>\n");
    }
    s + "<form method=\"post\" action=\"/login.php\"><input name=\"user\"><input type=\"password\" name=\"pass\"></form></body></html>\n"
}

fn json(r: &mut Rng, w: &str) -> String {
    let items: Vec<String> = (0..(2 + r.below(30)))
        .map(|k| {
            format!(
                "{{\"id\":{k},\"{w}\":\"v{}\",\"cmd\":\"cmd.exe /c dir\"}}",
                r.below(1000)
            )
        })
        .collect();
    format!("{{\"items\":[{}]}}\n", items.join(","))
}

fn binary(r: &mut Rng, magic: &[u8], len: usize) -> Vec<u8> {
    let mut v = magic.to_vec();
    while v.len() < len {
        v.extend_from_slice(&r.next().to_le_bytes());
    }
    v
}

fn ashx(r: &mut Rng, w: &str) -> String {
    format!("<%@ WebHandler Language=\"C#\" Class=\"{w}Handler\" %>\nusing System.Web;\npublic class {w}Handler : IHttpHandler {{\n  public void ProcessRequest(HttpContext context) {{\n    context.Response.ContentType = \"application/json\";\n    context.Response.Write(\"{{\\\"n\\\":\" + {} + \"}}\");\n    var id = context.Request.QueryString[\"id\"];\n  }}\n  public bool IsReusable {{ get {{ return true; }} }}\n}}\n", r.below(100))
}

fn text(r: &mut Rng, w: &str) -> String {
    let mut s = format!("{w} notes\n");
    for _ in 0..(5 + r.below(40)) {
        s += "Deploy with: powershell -File deploy.ps1; the old way was cmd.exe /c deploy.bat. Do not eval( user input.\n";
    }
    s
}
