//! tests/projects/cmake-hello: a CMake project (a static library target and an executable)
//! configured with CMAKE_C_COMPILER=unimig-cc, built, its ctest run, and the program run on
//! both ISAs with the expected output.

use unimig_tests::*;

const ARGS: [&str; 10] = [
    "square", "2", "circle", "1", "triangle", "3", "4", "5", "rect", "1.5",
];

const HEADER: &str = "cmake-hello 1.2, sizeof(long)=8 sizeof(void *)=8
shapes:
  1: square (1 parameter)
  2: circle (1 parameter)
  3: rect (2 parameters)
  4: triangle (3 parameters)
";

#[test]
fn cmake_project_builds_and_runs_on_both_isas() {
    let _t = Timer::start("cmake");
    let tmp = temp_dir("cmake");
    let build = tmp.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    let log = tmp.path().join("cmake.log");
    run_logged(
        command("cmake")
            .arg(format!("-DCMAKE_C_COMPILER={}", cc().display()))
            .arg("-DCMAKE_BUILD_TYPE=Release")
            .arg(project_dir("cmake-hello"))
            .current_dir(&build),
        &log,
    );
    run_logged(
        command("cmake")
            .args(["--build", ".", "--verbose"])
            .current_dir(&build),
        &tmp.path().join("build.log"),
    );
    run_logged(
        command("ctest")
            .arg("--output-on-failure")
            .current_dir(&build),
        &tmp.path().join("ctest.log"),
    );

    let app = build.join("hello");
    let (x86, a64) = run_both_isas(&app, &ARGS, b"");
    // The last shape lacks its second parameter: an error after some output.
    let stdout = format!(
        "{HEADER}square   area 4            perimeter 8.0000000000
circle   area 3.14159      perimeter 6.2831853072
triangle area 6            perimeter 12.0000000000
"
    );
    assert_expected(
        "hello natively",
        &x86,
        stdout.as_bytes(),
        b"hello: rect needs 2 parameters\n",
        4,
    );
    assert_expected(
        "hello on aarch64",
        &a64,
        stdout.as_bytes(),
        b"hello: rect needs 2 parameters\n",
        4,
    );

    let args = [
        "rect", "1.5", "2.25", "circle", "0.5", "triangle", "2", "2", "3",
    ];
    let out = run_both_same("hello all shapes", &app, &RunSpec::new(&args));
    let stdout = format!(
        "{HEADER}rect     area 3.375        perimeter 7.5000000000
circle   area 0.785398     perimeter 3.1415926536
triangle area 1.98431      perimeter 7.0000000000
total area 6.14471
"
    );
    assert_expected("hello all shapes", &out, stdout.as_bytes(), b"", 0);
}
