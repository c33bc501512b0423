/*
    spoor built-in web-shell rules.

    Written for spoor from the shapes web shells take on disk: a server-side page (ASPX, ASHX,
    classic ASP, JSP/JSPX, PHP) or its compiled/translated form that feeds request data into a
    code or command sink. APT40 relies on web shells for persistence (AA24-190A, ATT&CK
    T1505.003), dropped in web roots, Exchange folders and Tomcat work folders.

    Conventions (read by spoor):
      meta.level       informational | low | medium | high | critical
      meta.attack      ATT&CK technique ids, space- or comma-separated
      meta.tactic      ATT&CK tactic short names
      meta.reference   where the tradecraft is described
    Each rule asks for both a marker of the file kind and a request-to-sink shape, so that an
    ordinary page that reads a parameter, or a script that calls eval on its own data, is not
    reported.
*/

// ---------------------------------------------------------------------------------------------
// ASP.NET: ASPX pages and ASHX handlers
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_aspx_request_to_process : webshell aspx
{
    meta:
        description = "ASP.NET page or handler that starts a process and reads request data (command web shell)"
        author = "spoor"
        level = "high"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $page1 = "<%@" ascii wide
        $page2 = "runat=\"server\"" nocase ascii wide
        $page3 = "WebHandler" ascii wide
        $page4 = "IHttpHandler" ascii wide
        $src1 = "Request.Form" nocase ascii wide
        $src2 = "Request.QueryString" nocase ascii wide
        $src3 = "Request.Params" nocase ascii wide
        $src4 = "Request.Item" nocase ascii wide
        $src5 = "Request.Headers" nocase ascii wide
        $src6 = "Request.Cookies" nocase ascii wide
        $src7 = "Request.InputStream" nocase ascii wide
        $src8 = "Request.BinaryRead" nocase ascii wide
        $src9 = /Request\s{0,4}\[/ nocase ascii wide
        $run1 = "Process.Start" nocase ascii wide
        $run2 = "ProcessStartInfo" nocase ascii wide
        $run3 = /new\s{1,4}(System\.Diagnostics\.)?Process\s{0,4}\(\s{0,4}\)/ ascii wide
    condition:
        filesize < 2MB and any of ($page*) and any of ($src*) and
        any of ($run*)
}

rule spoor_webshell_aspx_eval_request : webshell aspx
{
    meta:
        description = "ASP.NET (JScript.NET) page that evaluates request data, one-line China Chopper shape"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $eval = /eval\s{0,8}\(\s{0,8}Request\s{0,4}(\.\s{0,4}(Item|Form|QueryString|Params)|\[)/ nocase ascii wide
        $page1 = "<%" ascii wide
        $page2 = "runat=" nocase ascii wide
    condition:
        filesize < 2MB and $eval and any of ($page*)
}

rule spoor_webshell_aspx_assembly_load : webshell aspx
{
    meta:
        description = "ASP.NET page that loads a .NET assembly from request or base64 data (Behinder/Godzilla-style loader)"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $load = /Assembly\s{0,4}\.\s{0,4}Load\s{0,4}\(/ nocase ascii wide
        $data1 = "FromBase64String" nocase ascii wide
        $data2 = "Request.BinaryRead" nocase ascii wide
        $data3 = "Request.InputStream" nocase ascii wide
        $data4 = "TransformFinalBlock" nocase ascii wide
        $page1 = "<%@" ascii wide
        $page2 = "runat=\"server\"" nocase ascii wide
        $page3 = "WebHandler" ascii wide
        $inst = "CreateInstance" nocase ascii wide
    condition:
        filesize < 2MB and $load and any of ($data*) and (any of ($page*) or $inst)
}

rule spoor_webshell_aspx_cmd_shell : webshell aspx
{
    meta:
        description = "ASP.NET page that runs cmd.exe /c or PowerShell with request data"
        author = "spoor"
        level = "high"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $cmd1 = /cmd(\.exe)?["']?\s{0,8}[,+]?\s{0,8}["']?\s{0,4}\/c\b/ nocase ascii wide
        $cmd2 = /powershell(\.exe)?["']?\s{0,8}[,+]?\s{0,8}["']?\s{0,4}-(e|enc|encodedcommand|c|command)\b/ nocase ascii wide
        $page1 = "<%@" ascii wide
        $page2 = "runat=\"server\"" nocase ascii wide
        $page3 = "WebHandler" ascii wide
        $src1 = "Request.Form" nocase ascii wide
        $src2 = "Request.QueryString" nocase ascii wide
        $src3 = "Request.Params" nocase ascii wide
        $src4 = "Request.Item" nocase ascii wide
        $src5 = /Request\s{0,4}\[/ nocase ascii wide
    condition:
        filesize < 2MB and any of ($cmd*) and any of ($page*) and any of ($src*)
}

// ---------------------------------------------------------------------------------------------
// Exchange ProxyShell drops: a mailbox export (PST) or certificate request (DER) saved as .aspx
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_proxyshell_pst_or_der_drop : webshell aspx exchange
{
    meta:
        description = "File starting with a PST (!BDN) or DER certificate-request header that carries a server-side script (ProxyShell web-shell drop)"
        author = "spoor"
        level = "critical"
        attack = "T1505.003 T1190"
        tactic = "persistence initial-access"
        reference = "AA24-190A (ProxyShell CVE-2021-34473, CVE-2021-34523, CVE-2021-31207)"
    strings:
        $script = "<script" nocase ascii wide
        $runat = "runat" nocase ascii wide
        $page = "<%@" ascii wide
    condition:
        (uint32(0) == 0x4E444221 or uint16(0) == 0x8230) and
        filesize < 64MB and $script and ($runat or $page)
}

// ---------------------------------------------------------------------------------------------
// Classic ASP and generic eval-of-request shapes
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_generic_eval_request : webshell
{
    meta:
        description = "Server-side code that evaluates or executes request data directly (ASP eval/Execute(Request), Node/Python eval of request fields)"
        author = "spoor"
        level = "high"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $asp = /\b(eval|execute|executeglobal)\s{0,8}\(?\s{0,8}request\s{0,4}(\.\s{0,4}(form|querystring|item)\s{0,4})?\(/ nocase ascii wide
        $node = /\beval\s{0,8}\(\s{0,8}req\s{0,4}\.\s{0,4}(query|body|params|headers|cookies)\b/ ascii
        $py = /\b(eval|exec)\s{0,8}\(\s{0,8}request\s{0,4}\.\s{0,4}(args|form|values|data|json|GET|POST|COOKIES)\b/ ascii
    condition:
        filesize < 2MB and any of them
}

// ---------------------------------------------------------------------------------------------
// JSP / JSPX and Tomcat's translated sources (X_jsp.java)
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_jsp_request_to_exec : webshell jsp
{
    meta:
        description = "JSP page (or its translated _jsp.java) that runs an OS command with request data"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 JSP web shells on Tomcat)"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:" ascii
        $jsp3 = "org.apache.jsp" ascii
        $jsp4 = "_jspService" ascii
        $exec1 = /Runtime\s{0,4}\.\s{0,4}getRuntime\s{0,4}\(\s{0,4}\)\s{0,4}\.\s{0,4}exec\s{0,4}\(/ ascii
        $exec2 = /new\s{1,4}ProcessBuilder\s{0,4}\(/ ascii
        $exec3 = /ProcessImpl|UNIXProcess|forkAndExec/ ascii
        $req1 = /request\s{0,4}\.\s{0,4}(getParameter|getParameterValues|getHeader|getInputStream|getReader|getQueryString|getPart)\s{0,4}\(/ ascii
        $req2 = /req\s{0,4}\.\s{0,4}(getParameter|getHeader|getInputStream|getReader)\s{0,4}\(/ ascii
    condition:
        filesize < 2MB and any of ($jsp*) and any of ($exec*) and any of ($req*)
}

rule spoor_webshell_jsp_class_loader : webshell jsp
{
    meta:
        description = "JSP page that defines a class from request or base64 data (Behinder/Godzilla class-loader shape)"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 JSP web shells on Tomcat)"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:" ascii
        $jsp3 = "org.apache.jsp" ascii
        $jsp4 = "_jspService" ascii
        $define = "defineClass" ascii
        $loader = "ClassLoader" ascii
        $data1 = "BASE64Decoder" ascii
        $data2 = /Base64\s{0,4}\.\s{0,4}(getDecoder|getMimeDecoder|decodeBase64|decode)\b/ ascii
        $data3 = "decodeBuffer" ascii
        $data4 = /Cipher\s{0,4}\.\s{0,4}getInstance/ ascii
        $req1 = /request\s{0,4}\.\s{0,4}(getParameter|getHeader|getInputStream|getReader|getAttribute)\s{0,4}\(/ ascii
        $req2 = /session\s{0,4}\.\s{0,4}(getAttribute|putValue|setAttribute)\s{0,4}\(/ ascii
    condition:
        filesize < 2MB and any of ($jsp*) and $define and $loader and any of ($data*) and any of ($req*)
}

rule spoor_webshell_jsp_tomcat_memory_shell : webshell jsp memshell
{
    meta:
        description = "JSP that registers a filter, listener, servlet or WebSocket endpoint in the running Tomcat (in-memory web shell installer)"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 Tomcat listener memory shell, Nova_jsp$TomcatListenerMemShellFromThread)"
    strings:
        $jsp1 = "<%" ascii
        $jsp2 = "<jsp:" ascii
        $jsp3 = "org.apache.jsp" ascii
        $jsp4 = "org/apache/jsp" ascii
        $ctx1 = "StandardContext" ascii
        $ctx2 = "ApplicationContext" ascii
        $ctx3 = "ServerContainer" ascii
        $reg1 = "addFilterDef" ascii
        $reg2 = "addFilterMap" ascii
        $reg3 = "addApplicationEventListener" ascii
        $reg4 = "addServletMapping" ascii
        $reg5 = "addEndpoint" ascii
        $reg6 = "ServerEndpointConfig" ascii
        $reg7 = "ApplicationFilterConfig" ascii
        $mem = "MemShell" ascii
    condition:
        filesize < 4MB and any of ($jsp*) and any of ($ctx*) and
        (($reg1 and $reg2) or $reg3 or $reg4 or ($reg5 and $reg6) or $reg7 or $mem)
}

// ---------------------------------------------------------------------------------------------
// Tomcat compiled JSPs (work/Catalina/<host>/<app>/org/apache/jsp/*_jsp.class)
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_jsp_compiled_class : webshell jsp tomcat
{
    meta:
        description = "Compiled JSP class (org/apache/jsp) that runs OS commands or defines classes with request data"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 compiled JSP artefacts Index_jsp.class, Nova_jsp.class)"
    strings:
        $pkg = "org/apache/jsp/" ascii
        $rt = "java/lang/Runtime" ascii
        $exec = "exec" ascii fullword
        $pb = "java/lang/ProcessBuilder" ascii
        $define = "defineClass" ascii
        $loader = "java/lang/ClassLoader" ascii
        $req1 = "getParameter" ascii fullword
        $req2 = "getHeader" ascii fullword
        $req3 = "getInputStream" ascii fullword
        $req4 = "getReader" ascii fullword
    condition:
        uint32be(0) == 0xCAFEBABE and filesize < 4MB and $pkg and any of ($req*) and
        (($rt and $exec) or $pb or ($define and $loader))
}

// ---------------------------------------------------------------------------------------------
// PHP
// ---------------------------------------------------------------------------------------------

rule spoor_webshell_php_request_to_sink : webshell php
{
    meta:
        description = "PHP code that passes request superglobals straight into eval/assert or a command function"
        author = "spoor"
        level = "critical"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $php = "<?" ascii
        $direct = /\b(eval|assert|system|exec|shell_exec|passthru|popen|proc_open|pcntl_exec)\s{0,8}\(\s{0,8}(@\s{0,4})?\$_(POST|GET|REQUEST|COOKIE|SERVER|FILES)\b/ nocase ascii
        $wrapped = /\b(eval|assert)\s{0,8}\(\s{0,8}(@\s{0,4})?(base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|stripslashes|rawurldecode|urldecode|hex2bin)\s{0,8}\(\s{0,8}(@\s{0,4})?\$_(POST|GET|REQUEST|COOKIE|SERVER)\b/ nocase ascii
        $dyncall = /\$_(POST|GET|REQUEST|COOKIE)\s{0,4}\[[^\]\r\n]{1,64}\]\s{0,4}\(\s{0,8}(@\s{0,4})?\$_(POST|GET|REQUEST|COOKIE)\b/ ascii
        $backtick = /`\s{0,4}\$_(POST|GET|REQUEST|COOKIE)\s{0,4}\[[^\]\r\n]{1,64}\]\s{0,4}`/ ascii
    condition:
        filesize < 2MB and $php and ($direct or $wrapped or $dyncall or $backtick)
}

rule spoor_webshell_php_eval_decode_chain : webshell php
{
    meta:
        description = "PHP that evaluates a decoded blob (eval(gzinflate(base64_decode(...)))), the usual wrapper of packed web shells"
        author = "spoor"
        level = "high"
        attack = "T1505.003 T1027"
        tactic = "persistence defense-evasion"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $php = "<?" ascii
        $chain = /\b(eval|assert)\s{0,8}\(\s{0,8}(@\s{0,4})?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)\s{0,8}\(\s{0,8}(@\s{0,4})?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev)\s{0,8}\(/ nocase ascii
        $eval_b64 = /\beval\s{0,8}\(\s{0,8}(@\s{0,4})?base64_decode\s{0,8}\(\s{0,8}['"][A-Za-z0-9+\/=]{64}/ nocase ascii
    condition:
        filesize < 4MB and $php and ($chain or $eval_b64)
}

rule spoor_webshell_php_legacy_code_sinks : webshell php
{
    meta:
        description = "PHP that reaches code execution through preg_replace /e or create_function with request data"
        author = "spoor"
        level = "high"
        attack = "T1505.003"
        tactic = "persistence"
        reference = "AA24-190A (APT40 web shells for persistence)"
    strings:
        $php = "<?" ascii
        $preg_e = /preg_replace\s{0,8}\(\s{0,8}["'][\/#~|!@%][^"'\r\n]{0,200}[\/#~|!@%][a-zA-Z]{0,8}e[a-zA-Z]{0,8}["']\s{0,8},/ ascii
        $cf = /create_function\s{0,8}\([^;]{0,200}\$_(POST|GET|REQUEST|COOKIE)\b/ nocase ascii
        $src = /\$_(POST|GET|REQUEST|COOKIE)\b/ ascii
    condition:
        filesize < 2MB and $php and (($preg_e and $src) or $cf)
}
