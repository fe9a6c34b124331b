//! The support matrix as an SVG heatmap: releases across, APIs down, each
//! cell coloured by the highest version the release accepts. Removed APIs
//! are grey with a red stroke, raised minimums get a red corner, unstable
//! latest versions a yellow corner, and proven cells a black dot.

use std::fmt::Write as _;

use super::matrix::{Cell, Matrix};

/// Where the grid starts and how big a cell is (the test reads pixels at
/// these coordinates).
pub const LEFT: u32 = 250;
pub const TOP: u32 = 70;
pub const CELL_W: u32 = 26;
pub const CELL_H: u32 = 14;
/// The highest version the colour scale spans (brighter above it).
pub const SCALE_MAX: i16 = 20;

pub const ABSENT: (u8, u8, u8) = (0xf4, 0xf4, 0xf4);
pub const REMOVED: (u8, u8, u8) = (0x9e, 0x9e, 0x9e);
pub const MARK_RED: (u8, u8, u8) = (0xd6, 0x27, 0x28);
pub const MARK_YELLOW: (u8, u8, u8) = (0xff, 0xd7, 0x00);
pub const PROVEN: (u8, u8, u8) = (0, 0, 0);

/// The fill of a cell whose highest version is `max` (viridis, 0 to
/// [`SCALE_MAX`]).
pub fn colour_for_max(max: i16) -> (u8, u8, u8) {
    const STOPS: [(f64, (f64, f64, f64)); 5] = [
        (0.0, (68.0, 1.0, 84.0)),
        (0.25, (59.0, 82.0, 139.0)),
        (0.5, (33.0, 145.0, 140.0)),
        (0.75, (94.0, 201.0, 98.0)),
        (1.0, (253.0, 231.0, 37.0)),
    ];
    let t = (f64::from(max.clamp(0, SCALE_MAX)) / f64::from(SCALE_MAX)).clamp(0.0, 1.0);
    let mut c = STOPS[0].1;
    for w in STOPS.windows(2) {
        let ((t0, a), (t1, b)) = (w[0], w[1]);
        if t >= t0 && t <= t1 {
            let u = (t - t0) / (t1 - t0);
            c = (
                a.0 + (b.0 - a.0) * u,
                a.1 + (b.1 - a.1) * u,
                a.2 + (b.2 - a.2) * u,
            );
        }
    }
    (c.0.round() as u8, c.1.round() as u8, c.2.round() as u8)
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// The top-left corner of cell (row, col).
pub fn cell_origin(row: usize, col: usize) -> (u32, u32) {
    (LEFT + col as u32 * CELL_W, TOP + row as u32 * CELL_H)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render(m: &Matrix) -> String {
    let w = LEFT + m.lines.len() as u32 * CELL_W + 20;
    let legend_y = TOP + m.apis.len() as u32 * CELL_H + 20;
    let h = legend_y + 60;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"9\">"
    );
    let _ = writeln!(
        s,
        "<title>Kafka API support matrix (kwire-codegen matrix)</title>"
    );
    let _ = writeln!(
        s,
        "<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"16\" font-size=\"13\" font-weight=\"bold\">Kafka API support: highest accepted request version per release line</text>"
    );
    for (c, line) in m.lines.iter().enumerate() {
        let (x, _) = cell_origin(0, c);
        let cx = x + CELL_W / 2;
        let _ = writeln!(
            s,
            "<text x=\"{cx}\" y=\"{}\" transform=\"rotate(-60 {cx} {})\">{}</text>",
            TOP - 4,
            TOP - 4,
            esc(Matrix::column_label(line))
        );
    }
    for (r, (key, name)) in m.apis.iter().enumerate() {
        let (_, y) = cell_origin(r, 0);
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} ({key})</text>",
            LEFT - 4,
            y + CELL_H - 3,
            esc(name)
        );
        for c in 0..m.lines.len() {
            let (x, y) = cell_origin(r, c);
            let cell = m.cells[r][c];
            let fill = match cell {
                Cell::Absent => ABSENT,
                Cell::Removed => REMOVED,
                Cell::Versions { max, .. } if max < 0 => ABSENT,
                Cell::Versions { max, .. } => colour_for_max(max),
            };
            let tip = match cell {
                Cell::Absent => "not in this release".to_string(),
                Cell::Removed => "removed (key reserved)".to_string(),
                Cell::Versions {
                    min, max, unstable, ..
                } => {
                    let u = unstable
                        .map(|u| format!(", v{u} unstable"))
                        .unwrap_or_default();
                    format!("{min}-{max}{u}")
                }
            };
            let _ = writeln!(
                s,
                "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL_W}\" height=\"{CELL_H}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"0.5\"><title>{} {}: {}</title></rect>",
                hex(fill),
                esc(name),
                esc(Matrix::column_label(&m.lines[c])),
                tip
            );
            match cell {
                Cell::Removed => {
                    let _ = writeln!(
                        s,
                        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1.5\"/>",
                        x + 2,
                        y + CELL_H - 2,
                        x + CELL_W - 2,
                        y + 2,
                        hex(MARK_RED)
                    );
                }
                Cell::Versions {
                    max,
                    unstable,
                    lost_min,
                    ..
                } => {
                    if max >= 0 {
                        let light = max * 10 >= SCALE_MAX * 6;
                        let _ = writeln!(
                            s,
                            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{}\">{max}</text>",
                            x + CELL_W / 2,
                            y + CELL_H - 3,
                            if light { "#000000" } else { "#ffffff" }
                        );
                    }
                    if lost_min {
                        let _ = writeln!(
                            s,
                            "<path d=\"M{x} {y} L{} {y} L{x} {} Z\" fill=\"{}\"/>",
                            x + 7,
                            y + 7,
                            hex(MARK_RED)
                        );
                    }
                    if unstable.is_some() {
                        let xr = x + CELL_W;
                        let _ = writeln!(
                            s,
                            "<path d=\"M{xr} {y} L{} {y} L{xr} {} Z\" fill=\"{}\"/>",
                            xr - 7,
                            y + 7,
                            hex(MARK_YELLOW)
                        );
                    }
                }
                Cell::Absent => {}
            }
            if m.proven.contains_key(&(r, c)) {
                let _ = writeln!(
                    s,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1\"/>",
                    x + CELL_W - 5,
                    y + CELL_H - 5,
                    hex(PROVEN)
                );
            }
        }
    }
    // Legend: the colour scale, then the marks.
    let _ = writeln!(
        s,
        "<text x=\"8\" y=\"{}\">highest version:</text>",
        legend_y + 10
    );
    for v in 0..=SCALE_MAX {
        let x = 100 + v as u32 * 18;
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{legend_y}\" width=\"18\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v}</text>",
            hex(colour_for_max(v)),
            x + 9,
            legend_y + 24
        );
    }
    let y2 = legend_y + 44;
    let _ = writeln!(
        s,
        "<rect x=\"8\" y=\"{}\" width=\"12\" height=\"10\" fill=\"{}\"/><text x=\"24\" y=\"{y2}\">removed (key reserved)</text>\
         <path d=\"M150 {} L157 {} L150 {} Z\" fill=\"{}\"/><text x=\"162\" y=\"{y2}\">minimum raised (older versions removed)</text>\
         <path d=\"M367 {} L360 {} L367 {} Z\" fill=\"{}\"/><text x=\"372\" y=\"{y2}\">unstable latest version</text>\
         <circle cx=\"505\" cy=\"{}\" r=\"3\" fill=\"{}\"/><text x=\"512\" y=\"{y2}\">exercised against a real broker by kwire's tests</text>",
        y2 - 9,
        hex(REMOVED),
        y2 - 9,
        y2 - 9,
        y2 - 2,
        hex(MARK_RED),
        y2 - 9,
        y2 - 9,
        y2 - 2,
        hex(MARK_YELLOW),
        y2 - 4,
        hex(PROVEN)
    );
    s.push_str("</svg>\n");
    s
}
