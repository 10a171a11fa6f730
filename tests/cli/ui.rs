//! The web UI of `jones-sync serve`, over HTTP against a real ZooKeeper: every page, what it
//! shows, escaping of hostile names, redaction of sensitive values, access control, and that
//! nothing writes.

use crate::serve::{Server, start, wait_for};
use crate::util::Test;

/// A repository whose `shop` has `prod` and `prod/eu` (host `web1`), with a sensitive key and a
/// link template for commits, committed and applied.
fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("jones-sync.toml", "[ui]\ncommit_url = \"https://git.example.com/config/commit/{sha}\"\n")
        .write("services/shop/config.toml", "timeout = 30\ndb_password = \"hunter2\"\n")
        .write("services/shop/prod/config.toml", "timeout = 10\n")
        .write("services/shop/prod/eu/config.toml", "region = \"eu\"\n")
        .write("services/shop/prod/eu/hosts.toml", "hosts = [\"web1\"]\n")
        .write("services/search/config.toml", "shards = 4\n");
    t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    t
}

/// `GET path`, which must answer 200 with HTML.
#[track_caller]
fn page(server: &Server, path: &str) -> String {
    let (code, headers, body) = server.request("GET", path, &[]).unwrap();
    assert_eq!(code, 200, "{path}: {body}");
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    assert_eq!(header("content-type"), Some("text/html; charset=utf-8"), "{path}");
    assert!(header("content-security-policy").is_some_and(|csp| csp.contains("script-src 'self'")), "{path}");
    body
}

#[test]
fn every_page_shows_what_the_server_knows() {
    let t = applied("ui_pages");
    let server = start(&t, &[]);
    let first = t.rev("HEAD");
    let short = &first[..12];

    let overview = page(&server, "/");
    assert!(overview.contains(r#"<a href="/ui/services/shop">shop</a>"#), "{overview}");
    assert!(overview.contains(r#"<span class="badge ok">in sync</span>"#), "{overview}");
    assert!(
        overview
            .contains(&format!(r#"<a class="mono" href="https://git.example.com/config/commit/{first}">{short}</a>"#))
    );
    assert!(overview.contains("2 of 2 services"), "{overview}");
    assert!(overview.contains("Branch: <code>main</code><span class=\"muted\">, read "), "{overview}");
    // Filtered on the server (the script filters as you type).
    assert!(page(&server, "/?q=sea").contains("1 of 2 services"));

    let shop = page(&server, "/ui/services/shop?env=prod/eu");
    // The tree, with the selected environment marked.
    assert!(shop.contains(r#"<a href="/ui/services/shop?env=prod%2Feu" aria-current="true">eu</a>"#), "{shop}");
    // Its own values, its view with where each key comes from, its hosts.
    assert!(shop.contains("<code>services/shop/prod/eu/config.toml</code>"), "{shop}");
    let view = &shop[shop.find(r#"<table id="view">"#).unwrap()..];
    assert!(
        view.contains(r#"<td><code>timeout</code></td><td class="mono">10</td><td><code>prod</code></td>"#),
        "{view}"
    );
    assert!(
        view.contains(r#"<td><code>region</code></td><td class="mono">&quot;eu&quot;</td><td>here</td>"#),
        "{view}"
    );
    assert!(view.contains(r#"<td class="mono">&quot;(sensitive)&quot;</td><td><code>(root)</code>"#), "{view}");
    assert!(shop.contains(r#"<a href="/ui/hosts/web1">web1</a>"#), "{shop}");
    assert!(shop.contains("None: ZooKeeper holds what the commit in force says."), "{shop}");

    let host = page(&server, "/ui/hosts/web1");
    assert!(host.contains("environment <code>prod/eu</code>"), "{host}");
    assert!(host.contains(r#"<td><code>region</code></td><td class="mono">&quot;eu&quot;</td>"#), "{host}");
    let (code, headers, _) = server.request("GET", "/ui/hosts?host=web1", &[]).unwrap();
    assert_eq!(code, 303);
    assert!(headers.contains(&("location".into(), "/ui/hosts/web1".into())), "{headers:?}");
    assert!(page(&server, "/ui/hosts/nobody").contains("No service associates <code>nobody</code>"));

    // Reading the branch again (every 0.2 s here) reloads no page; drift does.
    let generation = server.get("/ui/generation").1;
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(server.get("/ui/generation").1, generation);
    t.zk_write("/services/shop/conf/prod", r#"{"timeout": 99}"#);
    wait_for("drift", || page(&server, "/").contains(r#"<span class="badge drift">drift</span>"#));
    let shop = page(&server, "/ui/services/shop");
    assert!(
        shop.contains(
            r#"<li class="drift-row"><code>/services/shop/conf/prod</code><span class="muted"> edited at 20"#
        ),
        "{shop}"
    );
    assert!(shop.contains("~ timeout: 99 → 10"), "{shop}");
    assert_ne!(server.get("/ui/generation").1, generation);
    // A view edited by hand: a view-integrity finding.
    t.zk_write("/services/search/views", r#"{"shards": 5}"#);
    wait_for("the finding", || {
        page(&server, "/ui/services/search").contains(
            "<code>/services/search/views</code>: the view differs from what its conf nodes make of it (keys: shards)",
        )
    });

    t.write("services/shop/prod/config.toml", "timeout = 12\n");
    let second = t.commit_all("longer timeout");
    t.run(&["apply", "--yes"]).success();
    wait_for("the second apply seen", || page(&server, "/").contains(&second[..12]));
    let history = page(&server, "/ui/services/shop/history");
    assert!(history.contains("<td>longer timeout</td>") && history.contains("<td>first</td>"), "{history}");
    let compare = format!("/ui/services/shop/history?from={first}&amp;to={second}");
    assert!(history.contains(&compare), "{history}");
    let diff = page(&server, &compare.replace("&amp;", "&"));
    assert!(diff.contains(r#"<span class="del">-timeout = 10"#), "{diff}");
    assert!(diff.contains(r#"<span class="add">+timeout = 12"#), "{diff}");

    // Unknown things are 404 pages, not errors.
    assert_eq!(server.get("/ui/services/nope").0, 404);
    assert_eq!(server.get("/?target=nope").0, 404);
}

#[test]
fn hostile_names_render_as_text_and_sensitive_values_never_show() {
    let t = Test::new("ui_hostile");
    let name = "<svg onload=alert(1)>";
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"*token*\"]\n")
        .write(&format!("services/{name}/config.toml"), "api_token = \"s3cret-a\"\n\"<b>key</b>\" = \"<i>value</i>\"\n")
        .write(&format!("services/{name}/prod/config.toml"), "[nested]\napi_token = \"s3cret-b\"\n")
        .write(&format!("services/{name}/prod/hosts.toml"), "hosts = [\"<img src=x onerror=alert(2)>\"]\n");
    t.commit_all("hostile");
    t.run(&["apply", "--yes"]).success();
    t.write(&format!("services/{name}/config.toml"), "api_token = \"s3cret-c\"\n\"<b>key</b>\" = \"<i>other</i>\"\n");
    let second = t.commit_all("rotate");
    let first = t.rev("HEAD~1");
    let server = start(&t, &[]);
    let encoded = "%3Csvg%20onload%3Dalert%281%29%3E";
    let host = "%3Cimg%20src%3Dx%20onerror%3Dalert%282%29%3E";
    let pages = [
        page(&server, "/"),
        page(&server, &format!("/ui/services/{encoded}")),
        page(&server, &format!("/ui/services/{encoded}?env=prod")),
        page(&server, &format!("/ui/hosts/{host}")),
        page(&server, &format!("/ui/services/{encoded}/history")),
        page(&server, &format!("/ui/services/{encoded}/history?from={first}&to={second}")),
    ];
    for (i, body) in pages.iter().enumerate() {
        assert!(!body.contains("<svg") && !body.contains("<img src=x") && !body.contains("<b>key"), "{i}: {body}");
        assert!(!body.contains("s3cret"), "page {i} shows a sensitive value: {body}");
    }
    assert!(pages[0].contains("&lt;svg onload=alert(1)&gt;"), "{}", pages[0]);
    assert!(pages[0].contains(&format!(r#"href="/ui/services/{encoded}""#)), "{}", pages[0]);
    assert!(pages[2].contains("&lt;img src=x onerror=alert(2)&gt;"), "{}", pages[2]);
    assert!(pages[2].contains("&quot;(sensitive)&quot;"), "{}", pages[2]);
    // The pending plan (the rotated token) is redacted as `plan` redacts it.
    assert!(pages[1].contains("(sensitive)"), "{}", pages[1]);
    assert!(pages[5].contains("api_token = &quot;(sensitive)&quot;"), "{}", pages[5]);
    assert!(
        pages[5].contains(r#"<span class="add">+&lt;b&gt;key&lt;/b&gt; = &quot;&lt;i&gt;other&lt;/i&gt;&quot;"#),
        "{}",
        pages[5]
    );
}

#[test]
fn the_ui_writes_nothing_and_can_require_credentials() {
    let t = applied("ui_auth");
    let server = start(&t, &[]);
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in ["/", "/ui/services/shop", "/ui/hosts/web1", "/api/v1/services"] {
            let (code, _, _) = server.request(method, path, &[]).unwrap();
            assert_eq!(code, 405, "{method} {path}");
        }
    }
    let (code, headers, body) = server.request("GET", "/ui/static/app.js", &[]).unwrap();
    assert_eq!(code, 200);
    assert!(headers.contains(&("content-type".into(), "text/javascript; charset=utf-8".into())));
    assert!(body.contains("location.reload()"));
    drop(server);

    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token\n").unwrap();
    let server = start(&t, &["--ui-auth-file", token.to_str().unwrap()]);
    assert_eq!(server.get("/healthz").0, 200);
    assert_eq!(server.get("/readyz").0, 200);
    for path in ["/", "/ui/services/shop", "/api/v1/services", "/metrics"] {
        let (code, headers, _) = server.request("GET", path, &[]).unwrap();
        assert_eq!(code, 401, "{path}");
        assert!(headers.contains(&("www-authenticate".into(), "Bearer realm=\"jones-sync\"".into())), "{headers:?}");
        let (code, _, _) = server.request("GET", path, &[("Authorization", "Bearer wrong")]).unwrap();
        assert_eq!(code, 401, "{path}");
        let (code, _, _) = server.request("GET", path, &[("Authorization", "Bearer s3cret-token")]).unwrap();
        assert_eq!(code, 200, "{path}");
    }
    drop(server);

    let basic = dir.path().join("basic");
    std::fs::write(&basic, "ops:pa55word\n").unwrap();
    let server = start(&t, &["--ui-auth-file", basic.to_str().unwrap()]);
    assert_eq!(server.get("/").0, 401);
    // `ops:pa55word` in base64.
    let (code, _, _) = server.request("GET", "/", &[("Authorization", "Basic b3BzOnBhNTV3b3Jk")]).unwrap();
    assert_eq!(code, 200);
    drop(server);

    std::fs::write(&basic, "\n").unwrap();
    let out = t.run(&["serve", "--ui-auth-file", basic.to_str().unwrap()]).code(1);
    assert!(out.stderr.contains("is empty: write a bearer token, or `user:password`"), "{}", out.stderr);
}

#[test]
fn with_several_targets_every_page_has_a_selector_and_the_overview_a_matrix() {
    let t = Test::new("ui_targets");
    let other = crate::zookeeper::others()[0].chroot("ui_targets");
    t.write(
        "jones-sync.toml",
        &format!("[targets.main]\nzk = \"{}\"\n[targets.euw1]\nzk = \"{other}\"\nservices = [\"shop\"]\n", t.zk),
    )
    .write("services/shop/config.toml", "timeout = 30\n")
    .write("services/search/config.toml", "shards = 4\n");
    t.commit_all("first");
    t.run(&["apply", "--yes", "--target", "main"]).success();
    let server = start(&t, &[]);
    let overview = page(&server, "/");
    assert!(overview.contains(r#"<a href="/?target=main" aria-current="page">main</a>"#), "{overview}");
    assert!(overview.contains(r#"<a href="/?target=euw1">euw1</a>"#), "{overview}");
    let matrix = &overview[overview.find(r#"<table id="matrix">"#).unwrap()..];
    assert!(matrix.contains("<th>main</th><th>euw1</th>"), "{matrix}");
    // search does not go to euw1; shop is not applied there yet.
    assert!(
        matrix.contains(
            r#"<td>search</td><td><a href="/ui/services/search?target=main"><span class="badge ok">in sync</span></a>"#
        ),
        "{matrix}"
    );
    assert!(matrix.contains(r#"<span class="muted">-</span>"#), "{matrix}");
    assert!(
        matrix.contains(
            r#"<a href="/ui/services/shop?target=euw1"><span class="badge pending">changes pending</span></a>"#
        ),
        "{matrix}"
    );
    let euw1 = page(&server, "/ui/services/shop?target=euw1");
    assert!(euw1.contains(r#"<a href="/ui/services/shop?target=euw1" aria-current="page">euw1</a>"#), "{euw1}");
    assert!(euw1.contains("+ /services/shop (service)"), "{euw1}");
    assert_eq!(server.get("/ui/services/search?target=euw1").0, 404);
}

#[test]
fn the_pages_work_in_a_real_browser() {
    let t = applied("ui_browser");
    // Something to show: a pending change, and drift.
    t.write("services/shop/prod/eu/config.toml", "region = \"eu-west\"\n");
    t.commit_all("move the region");
    t.zk_write("/services/shop/conf/prod", r#"{"timeout": 99}"#);
    let server = start(&t, &[]);
    wait_for("drift", || page(&server, "/").contains("badge drift"));
    let base = format!("http://127.0.0.1:{}", server.port);
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("ui-screenshots");
    let pages = [
        ("overview", "/", vec!["Services", "shop", "drift", "search", "in sync", "Commit in force"]),
        (
            "service",
            "/ui/services/shop?env=prod/eu",
            vec![
                "Environments",
                "View: what its hosts read",
                "region",
                "web1",
                "Pending changes",
                "~ region: \"eu\" → \"eu-west\"",
            ],
        ),
        ("host", "/ui/hosts/web1", vec!["Host web1", "environment prod/eu", "region"]),
        ("history", "/ui/services/shop/history", vec!["History of shop", "first"]),
    ];
    for (name, path, visible) in pages {
        let url = format!("{base}{path}");
        let loaded = crate::browser::load(&url);
        assert!(loaded.errors.is_empty(), "{path}: the console has errors: {:?}", loaded.errors);
        let text = visible_text(&loaded.dom);
        for words in visible {
            assert!(text.contains(words), "{path}: `{words}` is not shown:\n{text}");
        }
        assert!(!text.contains("hunter2"), "{path} shows a sensitive value");
        crate::browser::screenshot(&url, &shots.join(format!("{name}.png")), 1280, 900);
        // A narrow window (a phone) renders too.
        crate::browser::screenshot(&url, &shots.join(format!("{name}-narrow.png")), 390, 844);
    }
    assert!(std::fs::metadata(shots.join("overview.png")).unwrap().len() > 1000);
}

/// The text of a DOM without its tags and scripts, entities decoded, white space collapsed.
fn visible_text(dom: &str) -> String {
    let mut text = String::new();
    let mut rest = dom;
    while let Some(start) = rest.find('<') {
        text.push_str(&rest[..start]);
        let tag = &rest[start..];
        let opens = |name: &str| tag[1..].starts_with(name) && tag[1 + name.len()..].starts_with([' ', '>']);
        let skip = ["script", "style", "head"].into_iter().find(|name| opens(name)).map(|name| {
            let close = format!("</{name}>");
            tag.find(&close).map_or(tag.len(), |end| end + close.len())
        });
        let end = skip.unwrap_or_else(|| tag.find('>').map_or(tag.len(), |end| end + 1));
        text.push(' ');
        rest = &tag[end..];
    }
    text.push_str(rest);
    let text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_service_holding_a_newer_commit_than_the_branch_shows_as_superseded() {
    let t = applied("ui_superseded");
    let server = start(&t, &[]);
    // A newer commit, on another branch, applied by hand: the branch the server follows is older.
    t.git(&["checkout", "-q", "-b", "next"]);
    t.write("services/search/config.toml", "shards = 8\n");
    let newer = t.commit_all("more shards");
    t.run(&["apply", "--yes"]).success();
    t.git(&["checkout", "-q", "main"]);
    wait_for("superseded", || page(&server, "/").contains(r#"<span class="badge superseded">superseded</span>"#));
    let search = page(&server, "/ui/services/search");
    assert!(
        search.contains(&format!(
            "<strong>Superseded. </strong>search: skipped: ZooKeeper holds commit {}",
            &newer[..12]
        )),
        "{search}"
    );
    let api = server.json("/api/v1/services/search");
    assert!(api["superseded"].as_str().unwrap().contains("which is newer"), "{api}");
}
