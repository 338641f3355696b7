//! `.npy` catalogs as NumPy writes them, and every way they can be wrong.

use super::*;

/// A `.npy` file as `numpy.save` writes it (version 1.0, header padded to 64 bytes).
fn npy(descr: &str, shape: &str, fortran: bool, data: &[u8]) -> Vec<u8> {
    let order = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Writes `name.npy` and, if given, `name.ids`; returns the `.npy` path.
fn files(dir: &Path, name: &str, npy_bytes: Vec<u8>, ids: Option<&str>) -> PathBuf {
    let path = dir.join(format!("{name}.npy"));
    std::fs::write(&path, npy_bytes).unwrap();
    if let Some(ids) = ids {
        std::fs::write(ids_path(&path), ids).unwrap();
    }
    path
}

#[test]
fn float32_and_float16_catalogs_load_with_ids_and_titles() {
    let dir = tempfile::tempdir().unwrap();
    let values = [1.5f32, -2.0, 0.25, 4.0, 0.0, -0.5];
    let f16: Vec<u8> = values
        .iter()
        .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
        .collect();
    for (name, descr, data) in [("a", "<f4", f32s(&values)), ("b", "<f2", f16)] {
        let path = files(
            dir.path(),
            name,
            npy(descr, "(2, 3)", false, &data),
            Some("x1\tFirst item\nx2\n"),
        );
        let catalog = crate::catalog_file::load(&path).unwrap();
        assert_eq!(catalog.dim, 3);
        assert_eq!(catalog.items.len(), 2);
        assert_eq!(
            (
                catalog.items[0].id.as_str(),
                catalog.items[0].title.as_str()
            ),
            ("x1", "First item")
        );
        assert_eq!(
            (
                catalog.items[1].id.as_str(),
                catalog.items[1].title.as_str()
            ),
            ("x2", "")
        );
        assert_eq!(catalog.items[0].vector, values[..3], "{descr}");
        assert_eq!(catalog.items[1].vector, values[3..], "{descr}");
    }
}

/// Each bad file gives an error that names the file, and the row or line where one is to blame.
#[test]
fn bad_catalogs_say_which_file_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let ok = || npy("<f4", "(2, 2)", false, &f32s(&[1.0, 2.0, 3.0, 4.0]));
    let cases: Vec<(&str, Vec<u8>, Option<&str>, &str)> = vec![
        ("no_ids", ok(), None, "no_ids.ids"),
        ("few_ids", ok(), Some("a\n"), "few_ids.ids:2"),
        (
            "many_ids",
            ok(),
            Some("a\nb\nc\n"),
            "many_ids.ids:3: more ids",
        ),
        ("dup", ok(), Some("a\na\n"), "dup.ids:2: duplicate item id"),
        ("empty_id", ok(), Some("a\n\tt\n"), "empty_id.ids:2"),
        (
            "nan",
            npy("<f4", "(2, 2)", false, &f32s(&[1.0, 2.0, f32::NAN, 4.0])),
            Some("a\nb\n"),
            "nan.npy: row 1: value 0 is not a finite number",
        ),
        (
            "ints",
            npy("<i4", "(1, 1)", false, &[1, 0, 0, 0]),
            Some("a\n"),
            "not <i4",
        ),
        (
            "f64",
            npy("<f8", "(1, 1)", false, &[0; 8]),
            Some("a\n"),
            "float32 (<f4)",
        ),
        (
            "three_d",
            npy("<f4", "(1, 1, 1)", false, &f32s(&[1.0])),
            Some("a\n"),
            "2-D",
        ),
        (
            "fortran",
            npy("<f4", "(1, 1)", true, &f32s(&[1.0])),
            Some("a\n"),
            "Fortran",
        ),
        // a header that claims far more than the file holds is refused before any allocation
        (
            "huge",
            npy("<f4", "(1000000000, 1000)", false, &f32s(&[1.0])),
            Some("a\n"),
            "needs more bytes than the file's",
        ),
        (
            "wide",
            npy("<f4", "(1, 1025)", false, &f32s(&[0.0; 1025])),
            Some("a\n"),
            "1 to 1024",
        ),
        (
            "garbage",
            b"not numpy at all".to_vec(),
            Some("a\n"),
            "not a .npy file",
        ),
    ];
    for (name, bytes, ids, expected) in cases {
        let path = files(dir.path(), name, bytes, ids);
        let e = crate::catalog_file::load(&path).unwrap_err().to_string();
        assert!(e.contains(expected), "{name}: {e}");
        assert!(e.contains(name), "{name}: the error names the file: {e}");
    }
}

#[test]
fn headers_parse_as_numpy_writes_them_and_nothing_else() {
    let numpy = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000, 64), }    \n";
    let h = Header::parse(numpy).unwrap();
    assert_eq!(
        h,
        Header {
            descr: "<f4".into(),
            fortran_order: false,
            shape: vec![1_000_000, 64],
        }
    );
    let reordered =
        Header::parse("{'shape': (5,), 'fortran_order': True, 'descr': '<f2'}").unwrap();
    assert_eq!((reordered.shape, reordered.fortran_order), (vec![5], true));
    for bad in [
        "",
        "{'descr': '<f4'}",
        "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1, 2), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, x), }",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), 'extra': 1}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2)",
        // the fuzzer's input that took npyz's parser seconds
        "{'descr': '<f2',[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ 'fortran_e|cr'> '1', 'order': Fa",
    ] {
        assert!(Header::parse(bad).is_err(), "{bad:?}");
    }
}
