//! `-j PATH` over the hostile JSON corpus, and numbers kept as written.

use super::*;

// ------------------------------------------------------------------------------------------
// 1. -j PATH over the hostile corpus: equal to jq and to Python's json
// ------------------------------------------------------------------------------------------

/// For each path: jq and the Python oracle agree on every line where no documented difference
/// applies (numbers compared as doubles where jq rewrites them); statbuf's counts and summary
/// equal the Python oracle's over the whole corpus, and jq's over the lines where no
/// documented difference applies.
fn check_json_paths(paths: &[Member]) {
    if !have_programs(&[JQ, PYTHON]) {
        return;
    }
    let corpus = json_corpus();
    let wd = Workdir::new();
    let file = wd.write("corpus.jsonl", file_of(&corpus.lines));
    let python = python_json(&wd, &file, paths, corpus.lines.len());
    for (p, path) in paths.iter().enumerate() {
        let mut comparable = Vec::new();
        let mut jq_readings = Vec::new();
        for (i, line) in corpus.lines.iter().enumerate() {
            let py = &python[i][p];
            if !py.notes.is_empty() && py.notes != ["number"] {
                // A documented difference: statbuf is checked against the Python oracle alone.
                continue;
            }
            let jq = if corpus.jq_object[i] {
                jq_reading(line, path.jq)
            } else {
                Reading::NotJson
            };
            let at = || {
                format!(
                    "line {} ({}), path {}",
                    i + 1,
                    show(&line[..line.len().min(200)]),
                    path.jq
                )
            };
            match py.notes.as_slice() {
                [] => {
                    assert_eq!(py.reading, jq, "Python's json and jq differ on {}", at());
                    comparable.push(i);
                    jq_readings.push(jq);
                }
                [number] if number == "number" => match (&py.reading, &jq) {
                    (Reading::Found(a), Reading::Found(b)) => assert!(
                        same_json_numbers(a, b),
                        "{} is not the number jq prints, {}, on {}",
                        show(a),
                        show(b),
                        at()
                    ),
                    _ => panic!("Python reads {:?} and jq {jq:?} on {}", py.reading, at()),
                },
                _ => unreachable!(),
            }
        }
        assert!(
            comparable.len() > corpus.lines.len() * 3 / 4,
            "only {} of {} lines compared with jq for {}",
            comparable.len(),
            corpus.lines.len(),
            path.jq
        );

        let all = wd.statbuf().args(json_key_args(&[path.jq])).arg(&file).run();
        let expected = Expected::counting(python.iter().map(|row| vec![&row[p].reading]));
        assert_run(&all, &expected, &format!("-j {} against Python's json", path.jq));

        let subset = wd.write(
            &format!("comparable-{p}.jsonl"),
            file_of(comparable.iter().map(|&i| &corpus.lines[i])),
        );
        let run = wd.statbuf().args(json_key_args(&[path.jq])).arg(&subset).run();
        let expected = Expected::counting(jq_readings.iter().map(|r| vec![r]));
        assert!(
            expected.matched > 0 && expected.unmatched > 0 && expected.not_json > 10,
            "the corpus should give jq keys, missing members and lines not JSON for {}: {expected:?}",
            path.jq
        );
        assert_run(
            &run,
            &expected,
            &format!("-j {} against jq -r -c, line by line", path.jq),
        );
    }
}

#[test]
fn json_key_at_the_top_equals_jq_and_python() {
    check_json_paths(&[K]);
}

#[test]
fn json_key_through_an_object_equals_jq_and_python() {
    check_json_paths(&[O_K]);
}

#[test]
fn json_key_of_objects_and_arrays_is_compact_json_as_jq_prints_it() {
    check_json_paths(&[O, X]);
}

#[test]
fn json_key_with_quoted_names_and_long_values_equals_jq_and_python() {
    check_json_paths(&[O_A_B_K, A_DOT_B, PAD]);
}

#[test]
fn json_key_with_escapes_and_brackets_in_the_path_equals_jq_and_python() {
    let escaped = Member {
        jq: r#"."\u006f"["k"]"#,
        names: &["o", "k"],
    };
    let quoted = Member {
        jq: r#".["\"k\""]"#,
        names: &["\"k\""],
    };
    check_json_paths(&[escaped, quoted]);
}

/// The drawn part of the corpus is what the tests above claim it is.
#[test]
fn the_generated_corpus_holds_what_it_claims() {
    if !have_programs(&[JQ]) {
        return;
    }
    let corpus = json_corpus();
    let not_json = 70 + CRAFTED_JSON.len();
    let first = not_json + CRAFTED_NOT_JSON.len();
    assert!(
        corpus.jq_object[70..not_json].iter().all(|&o| o),
        "jq reads every object written here"
    );
    assert!(
        corpus.jq_object[not_json..first].iter().all(|&o| !o),
        "jq refuses every line written here as not JSON"
    );
    let drawn = &corpus.lines[first..];
    let megabyte = &drawn[0];
    assert!(megabyte.len() > 999_000 && megabyte.len() <= MEGABYTE);
    assert!(corpus.jq_object[first], "jq reads the 1 MB line");
    for i in first + 1..corpus.lines.len() {
        // jq refuses a lone high surrogate, which a few random objects hold.
        let high = corpus.lines[i].windows(6).any(|w| w == b"\\ud800");
        assert_eq!(
            corpus.jq_object[i],
            !corpus.broken[i] && !high,
            "jq reads every random object but those with a lone high surrogate, and no broken \
             one: line {} {}",
            i + 1,
            show(&corpus.lines[i])
        );
    }
    let has = |needle: &[u8]| {
        drawn
            .iter()
            .filter(|l| l.windows(needle.len()).any(|w| w == needle))
            .count()
    };
    for needle in [
        &b"\t"[..],
        b"\r",
        b"\\ud83d",
        b"\\u006b",
        b"\\ud800",
        b"1.50",
        b"\"\"",
    ] {
        assert!(has(needle) > 0, "no drawn line holds {}", show(needle));
    }
}

// ------------------------------------------------------------------------------------------
// Numbers as written
// ------------------------------------------------------------------------------------------

/// Numbers are kept as the line writes them, `1.50` and `1.5` two keys, inside arrays and
/// objects too; jq prints the same numbers, maybe written otherwise.
#[test]
fn numbers_are_counted_as_written() {
    let numbers: &[(&str, &str)] = &[
        ("1e3", "1e3"),
        ("1E3", "1E3"),
        ("1e+3", "1e+3"),
        ("1000", "1000"),
        ("1.50", "1.50"),
        ("1.5", "1.5"),
        (" 1.50 ", "1.50"),
        ("-0", "-0"),
        ("0", "0"),
        ("0.0", "0.0"),
        ("-1.5E-07", "-1.5E-07"),
        ("100000000000000000000000", "100000000000000000000000"),
        ("12345678901234567890", "12345678901234567890"),
        ("[1.0, 1e2 ,{ \"x\" : 2.50 }]", "[1.0,1e2,{\"x\":2.50}]"),
        ("{\"a\":[0.10 , -0.0]}", "{\"a\":[0.10,-0.0]}"),
    ];
    let wd = Workdir::new();
    let lines: Vec<Vec<u8>> = numbers
        .iter()
        .map(|(written, _)| format!("{{\"id\":1,\"n\":{written}}}").into_bytes())
        .collect();
    let log = wd.write("numbers.jsonl", file_of(&lines));
    let run = wd.statbuf().args(json_key_args(&[".n"])).arg(&log).run();
    let mut expected = Expected::default();
    for (_, key) in numbers {
        *expected.counts.entry(key.as_bytes().to_vec()).or_insert(0) += 1;
        expected.lines += 1;
        expected.matched += 1;
    }
    assert_run(&run, &expected, "numbers as the lines write them");

    if !have_programs(&[JQ]) {
        return;
    }
    for (line, (_, key)) in lines.iter().zip(numbers) {
        match jq_reading(line, ".n") {
            Reading::Found(jq) => assert!(
                same_json_numbers(key.as_bytes(), &jq),
                "jq prints {} for {key}: not the same number",
                show(&jq)
            ),
            other => panic!("jq reads {other:?} in {}", show(line)),
        }
    }
}
