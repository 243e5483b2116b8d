//! The HTML report in a real browser: headless Chromium renders the page
//! written by `fusion report`, the rendered DOM must hold the expected
//! organisations and lineage edges (and show that the inline script ran
//! under the page's Content-Security-Policy), and a screenshot must come
//! out as a real, non-blank PNG.
//!
//! Needs `chromium` (Debian package `chromium`) or `chromium-browser` on
//! PATH. Without it the test prints a note and passes; CI installs it.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{TestEnv, repo_root};

const EVENTS: &str = r#"{"type":"created","date":"2008","id":"edit","name":"Edit","kind":"cluster","attrs":{"seat":"Lyon"},"sources":[{"doc":"b.txt","quote":"Depuis 2008, avec la naissance du cluster lyonnais Edit"}]}
{"type":"created","date":"2000","id":"grilog","name":"GRILOG","kind":"cluster","sources":[{"doc":"b.txt"}]}
{"type":"transformed","mode":"fusion","date":"2015-05~","from":["edit","grilog"],"to":["clustr"],"new":[{"id":"clustr","name":"Clust'R Numérique","kind":"cluster"}],"sources":[{"doc":"b.txt","quote":"qui a fusionné début mai avec le GRILOG"}]}
{"type":"created","date":"2015-06","id":"numelink","name":"Numélink","kind":"cluster","sources":[{"doc":"a.txt"}]}
{"type":"transformed","mode":"fusion","date":"2017-03-28","from":["clustr","numelink"],"to":["digital-league"],"new":[{"id":"digital-league","name":"Digital League","kind":"cluster"}],"sources":[{"doc":"Digital League press release, 2017-03-28"}]}
"#;

/// The first of `chromium`, `chromium-browser` found on PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Runs headless Chromium on `page` with `extra` flags; returns stdout.
/// Killed after two minutes.
fn headless(browser: &Path, profile: &Path, extra: &[&str], page: &Path) -> String {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader.join().expect("reader")
}

/// Width and height from a PNG's IHDR chunk, if `bytes` is a PNG.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let sig = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != sig || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "note: chromium is not on PATH; skipping the browser test (apt-get install -y chromium)"
        );
        return;
    };
    let env = TestEnv::with_ledger();
    env.append(EVENTS);
    let r = env.run(&["report", "--as-of", "2016", "--out", "report.html"]);
    assert_eq!(r.code, 0, "{r}");
    let page = env.dir().join("report.html");
    let profile = env.dir().join("chromium-profile");

    let dom = headless(&browser, &profile, &["--dump-dom"], &page);
    // The landscape on 2016-12-31, and the ended organisations.
    for name in ["Clust'R Numérique", "Numélink", "Edit", "GRILOG"] {
        assert!(dom.contains(name), "`{name}` missing from the DOM");
    }
    assert!(dom.contains("id=\"org-clustr\""));
    // The lineage edges, the 2017 one included (drawn as "later").
    for (from, to) in [
        ("edit", "clustr"),
        ("grilog", "clustr"),
        ("clustr", "digital-league"),
        ("numelink", "digital-league"),
    ] {
        assert!(
            dom.contains(&format!("data-from=\"{from}\" data-to=\"{to}\"")),
            "edge {from} → {to} missing"
        );
    }
    assert!(dom.contains("class=\"edge m-fusion later\""));
    // The inline script ran: it marks the document and reveals the filter.
    assert!(
        dom.contains("data-js=\"on\""),
        "the inline script did not run"
    );
    assert!(
        dom.contains("<fieldset id=\"filter\">"),
        "filter still hidden"
    );
    assert!(dom.contains("5 of 5 events shown"));

    let shot = env.dir().join("shot.png");
    let shot_flag = format!("--screenshot={}", shot.display());
    headless(
        &browser,
        &profile,
        &[shot_flag.as_str(), "--window-size=1280,2000"],
        &page,
    );
    let bytes = std::fs::read(&shot).expect("the screenshot exists");
    assert_eq!(
        png_size(&bytes),
        Some((1280, 2000)),
        "not the PNG asked for"
    );
    // A blank 1280×2000 page compresses to about 6 kB; text, tables and
    // the SVG take far more.
    assert!(
        bytes.len() > 30_000,
        "screenshot is {} bytes: the page looks blank",
        bytes.len()
    );
}

#[test]
fn the_shipped_landscape_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("note: chromium is not on PATH; skipping the browser test");
        return;
    };
    let ledger = repo_root().join("events/auvergne-rhone-alpes.jsonl");
    if !ledger.exists() {
        eprintln!("note: events/auvergne-rhone-alpes.jsonl is absent; skipping");
        return;
    }
    let env = TestEnv::new();
    let ledger = ledger.display().to_string();
    let r = env.run(&[
        "--ledger",
        &ledger,
        "report",
        "--as-of",
        "2017",
        "--out",
        "report.html",
    ]);
    assert_eq!(r.code, 0, "{r}");
    let dom = headless(
        &browser,
        &env.dir().join("profile"),
        &["--dump-dom"],
        &env.dir().join("report.html"),
    );
    for name in ["Digital League", "Le Bivouac", "Auvergne-Rhône-Alpes"] {
        assert!(dom.contains(name), "`{name}` missing from the DOM");
    }
    for (from, to) in [
        ("edit", "clustr-numerique"),
        ("grilog", "clustr-numerique"),
        ("clustr-numerique", "digital-league"),
        ("numelink", "digital-league"),
    ] {
        assert!(
            dom.contains(&format!("data-from=\"{from}\" data-to=\"{to}\"")),
            "edge {from} → {to} missing"
        );
    }
    assert!(
        dom.contains("data-js=\"on\""),
        "the inline script did not run"
    );
}
