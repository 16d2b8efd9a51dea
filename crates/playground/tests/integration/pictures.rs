//! The Playground's pictures, checked as a person would look at them: written where asked and
//! nothing else, readable PNG files of a sensible size, the Playground's colours where the
//! output is ±1, points in their class colour, two colours only when discretised, links coloured
//! by the sign of their weight; and a folder that cannot be written gives an error and leaves
//! no file behind.

use std::path::Path;

use shendu_playground::picture::{
    decision_map_area, decision_png, loss_png, network_png, neurons_png, NEGATIVE, NEUTRAL,
    PICTURE_FILES, POSITIVE,
};
use shendu_playground::plot::{Rect, Rgba};
use shendu_playground::snapshot::Layer;
use shendu_playground::{
    write_pictures, HeatMap, LossPoint, Network, PictureError, PictureOptions, Point, Problem,
    Snapshot,
};
use tiny_skia::Pixmap;

/// A function's heat map over [−6, 6]².
fn heat_map(resolution: usize, f: impl Fn(f64, f64) -> f64) -> HeatMap {
    let mut values = Vec::with_capacity(resolution * resolution);
    for row in 0..resolution {
        for column in 0..resolution {
            let (x1, x2) = HeatMap::cell_centre(resolution, row, column);
            values.push(f(x1, x2));
        }
    }
    HeatMap { resolution, values }
}

/// Two training points of each class, one test point, all away from the map's edges and
/// middle column; a 2 → 3 → 1 network whose weights all equal `weight`.
fn snapshot_with_weights(weight: f64) -> Snapshot {
    let output = heat_map(100, |x1, _| x1.tanh());
    let layers = vec![
        Layer {
            weights: vec![vec![weight; 2]; 3],
            biases: vec![0.1; 3],
        },
        Layer {
            weights: vec![vec![weight; 3]],
            biases: vec![0.1],
        },
    ];
    // Grey node maps, so that the only strong colours in the network picture are the links'.
    let grey = || heat_map(10, |_, _| 0.0);
    Snapshot {
        problem: Problem::Classification,
        epoch: 42,
        history: (0..=42)
            .map(|epoch| LossPoint {
                epoch,
                train: 0.5 / (1.0 + epoch as f64),
                test: 0.6 / (1.0 + epoch as f64),
            })
            .collect(),
        loss_name: "½(o − t)²".to_string(),
        output,
        neurons: vec![
            vec![grey(), grey()],
            vec![grey(), grey(), grey()],
            vec![grey()],
        ],
        network: Network {
            inputs: vec!["x₁".to_string(), "x₂".to_string()],
            layers,
        },
        train: vec![
            // Blue points on the orange half and orange points on the blue half, so that
            // their colour cannot come from the map under them.
            Point {
                x1: -3.0,
                x2: 3.0,
                label: 1.0,
            },
            Point {
                x1: -4.0,
                x2: -2.0,
                label: 1.0,
            },
            Point {
                x1: 3.0,
                x2: -3.0,
                label: -1.0,
            },
            Point {
                x1: 4.0,
                x2: 2.0,
                label: -1.0,
            },
        ],
        test: vec![Point {
            x1: 5.0,
            x2: 4.0,
            label: -1.0,
        }],
        train_accuracy: Some(0.5),
        test_accuracy: Some(0.0),
        settings: "hand-made · tanh(x₁) · layers 3".to_string(),
    }
}

fn snapshot() -> Snapshot {
    snapshot_with_weights(1.0)
}

fn decode(png: &[u8]) -> Pixmap {
    Pixmap::decode_png(png).expect("a picture decodes as PNG")
}

fn color_at(picture: &Pixmap, x: f32, y: f32) -> Rgba {
    let c = picture
        .pixel(x.floor() as u32, y.floor() as u32)
        .expect("inside the picture")
        .demultiply();
    Rgba {
        r: c.red(),
        g: c.green(),
        b: c.blue(),
        a: c.alpha(),
    }
}

/// The centre of a heat-map cell in the picture.
fn cell_pixel(map: Rect, resolution: usize, row: usize, column: usize) -> (f32, f32) {
    let cell = map.width / resolution as f32;
    (
        map.left + cell * (column as f32 + 0.5),
        map.top + cell * (row as f32 + 0.5),
    )
}

/// Where a point (x₁, x₂) lies in the picture, to the pixel.
fn point_pixel(map: Rect, x1: f64, x2: f64) -> (f32, f32) {
    (
        map.left + map.width * ((x1 + 6.0) / 12.0) as f32,
        map.top + map.height * ((6.0 - x2) / 12.0) as f32,
    )
}

fn count(picture: &Pixmap, color: Rgba) -> usize {
    (0..picture.height())
        .flat_map(|y| (0..picture.width()).map(move |x| (x, y)))
        .filter(|&(x, y)| color_at(picture, x as f32, y as f32) == color)
        .count()
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn the_four_pictures_are_written_into_a_new_folder_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("run").join("pictures");
    let written = write_pictures(&dir, &snapshot(), &PictureOptions::default()).unwrap();
    let expected: Vec<_> = PICTURE_FILES.iter().map(|name| dir.join(name)).collect();
    assert_eq!(written, expected);
    let mut names: Vec<String> = PICTURE_FILES.iter().map(|n| n.to_string()).collect();
    names.sort();
    assert_eq!(entries(&dir), names, "no temporary file left behind");

    for path in &written {
        let picture = decode(&std::fs::read(path).unwrap());
        let (w, h) = (picture.width(), picture.height());
        assert!(
            (400..=1200).contains(&w) && (300..=1200).contains(&h),
            "{path:?}: {w} × {h}"
        );
    }
    let decision = decode(&std::fs::read(&written[0]).unwrap());
    let map = decision_map_area(&snapshot());
    // 4 pixels a cell, the whole map inside the picture with room for axes and a legend.
    assert_eq!((map.width, map.height), (400.0, 400.0));
    assert!(map.left >= 40.0 && map.right() + 100.0 <= decision.width() as f32);
    assert!(map.top >= 40.0 && map.bottom() + 40.0 <= decision.height() as f32);

    // Writing again replaces the files and still leaves nothing else.
    write_pictures(&dir, &snapshot(), &PictureOptions::default()).unwrap();
    assert_eq!(entries(&dir), names);
}

#[test]
fn the_map_has_the_playground_colours_where_the_output_is_plus_and_minus_one() {
    let snapshot = snapshot();
    let picture = decode(&decision_png(&snapshot, &PictureOptions::default()).unwrap());
    let map = decision_map_area(&snapshot);
    // Column 0 is x₁ = −5.94, where tanh(x₁) rounds to −1; column 99 to +1.
    for row in [5, 50, 95] {
        let (x, y) = cell_pixel(map, 100, row, 0);
        assert_eq!(color_at(&picture, x, y), NEGATIVE, "row {row}, x₁ = −6");
        let (x, y) = cell_pixel(map, 100, row, 99);
        assert_eq!(color_at(&picture, x, y), POSITIVE, "row {row}, x₁ = +6");
    }
    // Near x₁ = 0 the output is small: the grey, a little towards blue right of zero.
    let (x, y) = cell_pixel(map, 100, 50, 50);
    let near_zero = color_at(&picture, x, y);
    let expected = NEUTRAL.mix(POSITIVE, 0.06f64.tanh());
    assert!(
        near_zero.r.abs_diff(expected.r) <= 1 && near_zero.b.abs_diff(expected.b) <= 1,
        "{near_zero:?} against {expected:?}"
    );
}

#[test]
fn points_have_their_class_colour_with_a_white_rim_and_test_points_only_when_asked() {
    let snapshot = snapshot();
    let map = decision_map_area(&snapshot);
    let plain = decode(&decision_png(&snapshot, &PictureOptions::default()).unwrap());
    for p in &snapshot.train {
        let (x, y) = point_pixel(map, p.x1, p.x2);
        let class = if p.label > 0.0 { POSITIVE } else { NEGATIVE };
        assert_eq!(color_at(&plain, x, y), class, "point {p:?}");
        // The rim, just outside the 3.5-pixel disc (its 1-pixel ring is anti-aliased).
        let rim = color_at(&plain, x + 4.0, y);
        assert!(rim.r.min(rim.g).min(rim.b) >= 235, "rim of {p:?}: {rim:?}");
    }
    // The test point (5, 4), label −1, lies on the blue half: hidden unless asked for.
    let test = snapshot.test[0];
    let (x, y) = point_pixel(map, test.x1, test.x2);
    assert_eq!(color_at(&plain, x, y), POSITIVE);
    let options = PictureOptions {
        show_test: true,
        discretize: false,
    };
    let with_test = decode(&decision_png(&snapshot, &options).unwrap());
    assert_eq!(color_at(&with_test, x, y), NEGATIVE);
    let rim = color_at(&with_test, x + 4.0, y);
    assert!(
        rim.r.max(rim.g).max(rim.b) <= 20,
        "a test point's rim: {rim:?}"
    );
}

#[test]
fn the_discretised_map_has_only_the_two_class_colours() {
    let snapshot = snapshot();
    let map = decision_map_area(&snapshot);
    let colours_in_map = |picture: &Pixmap| {
        let mut seen = std::collections::HashSet::new();
        for y in map.top as u32..map.bottom() as u32 {
            for x in map.left as u32..map.right() as u32 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let near_a_point = snapshot.train.iter().any(|p| {
                    let (cx, cy) = point_pixel(map, p.x1, p.x2);
                    (px - cx).powi(2) + (py - cy).powi(2) < 7.0f32.powi(2)
                });
                if !near_a_point {
                    seen.insert(color_at(picture, px, py));
                }
            }
        }
        seen
    };
    let discrete = PictureOptions {
        show_test: false,
        discretize: true,
    };
    let seen = colours_in_map(&decode(&decision_png(&snapshot, &discrete).unwrap()));
    assert_eq!(seen, [NEGATIVE, POSITIVE].into_iter().collect());
    let smooth = colours_in_map(&decode(
        &decision_png(&snapshot, &PictureOptions::default()).unwrap(),
    ));
    assert!(
        smooth.len() > 20,
        "a smooth map has many shades: {}",
        smooth.len()
    );
}

#[test]
fn links_take_the_colour_of_their_weights_sign() {
    let positive = decode(&network_png(&snapshot_with_weights(3.0)).unwrap());
    let negative = decode(&network_png(&snapshot_with_weights(-3.0)).unwrap());
    let (blue_pos, orange_pos) = (count(&positive, POSITIVE), count(&positive, NEGATIVE));
    let (blue_neg, orange_neg) = (count(&negative, POSITIVE), count(&negative, NEGATIVE));
    // Nine links about 6 pixels wide and 130 long, against the legend's few samples.
    assert!(
        blue_pos > orange_pos + 3000,
        "{blue_pos} blue, {orange_pos} orange"
    );
    assert!(
        orange_neg > blue_neg + 3000,
        "{orange_neg} orange, {blue_neg} blue"
    );
}

#[test]
fn the_neurons_picture_grows_with_the_network() {
    let small = snapshot();
    let mut big = snapshot();
    big.neurons[1] = (0..8)
        .map(|_| heat_map(10, |x1, x2| (x1 * x2).tanh()))
        .collect();
    for _ in 0..5 {
        big.neurons
            .insert(2, (0..4).map(|_| heat_map(10, |x1, _| x1.sin())).collect());
    }
    let small = decode(&neurons_png(&small).unwrap());
    let big = decode(&neurons_png(&big).unwrap());
    assert!(
        big.height() > small.height() + 300,
        "8 nodes in a column need more room"
    );
    assert!(
        big.width() > small.width() + 300,
        "five more columns need more room"
    );
    assert!(count(&big, POSITIVE) > 100 && count(&big, NEGATIVE) > 100);
}

#[test]
fn the_loss_picture_draws_both_curves() {
    let picture = decode(&loss_png(&snapshot()).unwrap());
    assert!(picture.width() >= 600 && picture.height() >= 400);
    // The test curve's purple: far more than its legend sample alone would leave.
    let purple = count(&picture, Rgba::hex(0x9c27b0));
    assert!(purple > 300, "{purple} purple pixels");
}

#[test]
fn a_folder_that_cannot_be_made_gives_an_error_naming_it_and_leaves_no_file() {
    let root = tempfile::tempdir().unwrap();
    // A file where a folder should be: refused even to root, unlike permission bits.
    let blocker = root.path().join("blocker");
    std::fs::write(&blocker, b"not a folder").unwrap();
    let dir = blocker.join("pictures");
    let err = write_pictures(&dir, &snapshot(), &PictureOptions::default()).unwrap_err();
    assert!(
        matches!(err, PictureError::Io { ref path, .. } if *path == dir),
        "{err:?}"
    );
    assert!(err.to_string().contains("blocker"), "{err}");
    assert_eq!(entries(root.path()), ["blocker"]);
    assert_eq!(std::fs::read(&blocker).unwrap(), b"not a folder");
}

#[test]
fn a_picture_that_cannot_be_written_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    // A non-empty folder named like the third picture: the rename over it fails.
    let in_the_way = dir.path().join("network.png");
    std::fs::create_dir(&in_the_way).unwrap();
    std::fs::write(in_the_way.join("keep"), b"x").unwrap();
    let err = write_pictures(dir.path(), &snapshot(), &PictureOptions::default()).unwrap_err();
    assert!(
        matches!(err, PictureError::Io { ref path, .. } if *path == in_the_way),
        "{err:?}"
    );
    assert_eq!(
        entries(dir.path()),
        ["decision.png", "network.png", "neurons.png"]
    );
    assert_eq!(entries(&in_the_way), ["keep"]);
}

#[test]
fn a_snapshot_with_nothing_in_it_yet_still_gives_four_pictures() {
    let empty = Snapshot {
        problem: Problem::Regression,
        epoch: 0,
        history: Vec::new(),
        loss_name: "mse".to_string(),
        output: HeatMap {
            resolution: 0,
            values: Vec::new(),
        },
        neurons: Vec::new(),
        network: Network {
            inputs: Vec::new(),
            layers: Vec::new(),
        },
        train: Vec::new(),
        test: Vec::new(),
        train_accuracy: None,
        test_accuracy: None,
        settings: String::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let options = PictureOptions {
        show_test: true,
        discretize: true,
    };
    let written = write_pictures(dir.path(), &empty, &options).unwrap();
    for path in written {
        let picture = decode(&std::fs::read(&path).unwrap());
        assert!(
            picture.width() >= 300 && picture.height() >= 200,
            "{path:?}"
        );
    }
}

#[test]
fn a_network_without_hidden_layers_links_its_inputs_to_the_output() {
    let mut direct = snapshot_with_weights(-4.0);
    direct.network.layers = vec![Layer {
        weights: vec![vec![-4.0, -4.0]],
        biases: vec![0.0],
    }];
    direct.neurons = vec![direct.neurons[0].clone(), direct.neurons[2].clone()];
    let picture = decode(&network_png(&direct).unwrap());
    // Two links 8 pixels wide, orange, against the legend's few samples.
    assert!(
        count(&picture, NEGATIVE) > 1200,
        "{}",
        count(&picture, NEGATIVE)
    );
    let neurons = decode(&neurons_png(&direct).unwrap());
    assert!(neurons.width() >= 400);
}
