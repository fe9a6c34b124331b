//! The support matrix: docs/ is what `kwire-codegen matrix` writes (drift
//! check), and the SVG, rendered with resvg, shows known cells in the
//! right colours and marks.

mod support;

use kwire_codegen::history::matrix::{self, Matrix};
use kwire_codegen::history::svg::{self, colour_for_max, ABSENT, PROVEN, REMOVED};
use kwire_codegen::history::{cli, committed};

#[test]
fn docs_match_the_history() {
    let root = support::repo_root();
    let files = matrix::render_files(&root).unwrap();
    let stale = matrix::stale_files(&root, &files);
    assert!(
        stale.is_empty(),
        "{stale:?} drifted: run `cargo run -p kwire-codegen -- matrix`"
    );
}

fn render(m: &Matrix) -> resvg::tiny_skia::Pixmap {
    let text = svg::render(m);
    let tree = resvg::usvg::Tree::from_str(&text, &resvg::usvg::Options::default())
        .expect("the SVG parses");
    let size = tree.size().to_int_size();
    let mut pixmap = resvg::tiny_skia::Pixmap::new(size.width(), size.height()).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    pixmap
}

fn pixel(p: &resvg::tiny_skia::Pixmap, x: u32, y: u32) -> (u8, u8, u8) {
    let c = p.pixel(x, y).unwrap();
    (c.red(), c.green(), c.blue())
}

#[test]
fn the_picture_shows_known_cells() {
    let root = support::repo_root();
    let h = committed().unwrap();
    let ex = matrix::load_exercised(&root).unwrap();
    let m = Matrix::build(&h, &ex);
    let p = render(&m);
    // A point inside a cell away from its number, corner marks and dot: 3 px in, 3 px down.
    let at = |key: i16, line: &str| {
        let (x, y) = svg::cell_origin(m.row(key).unwrap(), m.col(line).unwrap());
        pixel(&p, x + 3, y + svg::CELL_H / 2 + 1)
    };
    assert_eq!(at(1, "4.4"), colour_for_max(18), "Fetch in 4.4: up to v18");
    assert_eq!(at(1, "0.8.0"), colour_for_max(0), "Fetch in 0.8.0: v0");
    assert_eq!(at(1, "2.0"), colour_for_max(8), "Fetch in 2.0: up to v8");
    assert_eq!(at(18, "0.9.0"), ABSENT, "no ApiVersions before 0.10.0");
    assert_eq!(at(94, "4.3"), ABSENT, "UnregisterController is new in 4.4");
    assert_eq!(
        at(4, "4.0"),
        REMOVED,
        "LeaderAndIsr removed in 4.0 (KIP-896)"
    );
    assert_ne!(
        colour_for_max(18),
        colour_for_max(17),
        "adjacent versions differ in colour"
    );
    // A raised minimum is marked: Fetch's top-left corner in 4.0 (v0-v3 removed) is red.
    let (x, y) = svg::cell_origin(m.row(1).unwrap(), m.col("4.0").unwrap());
    assert_eq!(
        pixel(&p, x + 1, y + 1),
        svg::MARK_RED,
        "Fetch 4.0 minimum raised"
    );
    let (x, y) = svg::cell_origin(m.row(1).unwrap(), m.col("3.9").unwrap());
    assert_ne!(pixel(&p, x + 1, y + 1), svg::MARK_RED, "Fetch 3.9 kept v0");
    // Proven cells get a black dot; ApiVersions against 4.4.0 is exercised by the broker tests.
    assert!(
        m.proven
            .contains_key(&(m.row(18).unwrap(), m.col("4.4").unwrap())),
        "{ex:?}"
    );
    let dot = |key: i16, line: &str| {
        let (x, y) = svg::cell_origin(m.row(key).unwrap(), m.col(line).unwrap());
        pixel(&p, x + svg::CELL_W - 5, y + svg::CELL_H - 5)
    };
    assert_eq!(dot(18, "4.4"), PROVEN);
    assert_ne!(dot(18, "1.0"), PROVEN, "nothing runs against a 1.0 broker");
}

#[test]
fn markdown_marks_proven_pairs_and_patches() {
    let root = support::repo_root();
    let h = cli::load(&root).unwrap();
    let m = Matrix::build(
        &h,
        &matrix::parse_exercised("t 3.8.1 18 3\nt 4.4.0 3 13 # comment\n"),
    );
    let md = m.to_markdown(&h);
    let row = |name: &str| {
        md.lines()
            .find(|l| l.contains(&format!("| {name} |")))
            .unwrap()
            .to_string()
    };
    assert!(
        row("ApiVersions").contains("0-3 **✓**"),
        "{}",
        row("ApiVersions")
    );
    assert!(row("Produce").contains("3-13 ↑"), "{}", row("Produce"));
    assert!(
        row("InitProducerId").contains("0-5 (6*)"),
        "{}",
        row("InitProducerId")
    );
    assert!(row("LeaderAndIsr").contains("removed"));
    assert!(md.contains("- 3.8 ApiVersions (18): v3"), "{md}");
    assert!(md.contains("4.0.0 – 4.0.0: JoinGroup (11) 2-9"), "{md}");
    assert!(md.contains("| metadata.version | KIP-778 |"), "{md}");
}
