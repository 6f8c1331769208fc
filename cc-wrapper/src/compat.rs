//! Compatibility diagnostics: clang-style warnings for every construct the migration cannot
//! handle, from the instrumentation's reports (`unimig_llvm_pass::Report`: skipped functions and
//! calls, hazards), printed only when instrumentation is on.
//!
//! ```text
//! x.c:11:3: warning: 'sum' uses va_start (its va_list layout differs between the ISAs): 'sum' is
//! not migratable; a migration requested while it is on the stack waits until it returns
//! [-Wunimig-varargs]
//! ```
//! (one line). Each warning has a flag, controlled as clang controls its own: `-w`,
//! `-Werror`, `-Wno-error`, `-Werror=unimig-X`, `-Wno-error=unimig-X`, `-Wunimig-X`,
//! `-Wno-unimig-X`, and the group `unimig` for all of them (`-Wno-unimig`, `-Werror=unimig`);
//! the last option that applies wins. An error prints as `error: ... [-Werror,-Wunimig-X]` and
//! fails the compile (exit 1, no output). The `-W*unimig*` options are unimig-cc's own (clang
//! would warn about an unknown warning option); `-w`, `-Werror` and `-Wno-error` go to clang too.
//!
//! Locations come from the IR's debug locations. When the user did not ask for debug
//! information, unimig-cc gives the front ends `-gline-tables-only` (no variable information,
//! so the middle end sees the same IR apart from locations) and the pipeline strips it after
//! instrumentation ([`unimig_llvm_pass::Options::strip_debug_info`]); the objects are
//! byte-identical to a compile without it (llvm-pass/tests/diagnostics.rs). Without any
//! locations (`-g0` after our flag cannot happen, but code the front end gave no line to), the
//! diagnostic names only the file.

use unimig_llvm_pass::{HazardKind, Report, SkipReason, SourceLoc};

/// One warning flag (`-Wunimig-NAME`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    InlineAsm,
    Varargs,
    Setjmp,
    LongDouble,
    ComputedGoto,
    IsaDivergent,
    IsaLayout,
    Exceptions,
    MustTail,
    Unsupported,
}

impl Flag {
    pub const ALL: [Flag; 10] = [
        Flag::InlineAsm,
        Flag::Varargs,
        Flag::Setjmp,
        Flag::LongDouble,
        Flag::ComputedGoto,
        Flag::IsaDivergent,
        Flag::IsaLayout,
        Flag::Exceptions,
        Flag::MustTail,
        Flag::Unsupported,
    ];

    /// The name after `-W`.
    pub fn name(self) -> &'static str {
        match self {
            Flag::InlineAsm => "unimig-inline-asm",
            Flag::Varargs => "unimig-varargs",
            Flag::Setjmp => "unimig-setjmp",
            Flag::LongDouble => "unimig-long-double",
            Flag::ComputedGoto => "unimig-computed-goto",
            Flag::IsaDivergent => "unimig-isa-divergent",
            Flag::IsaLayout => "unimig-isa-layout",
            Flag::Exceptions => "unimig-exceptions",
            Flag::MustTail => "unimig-musttail",
            Flag::Unsupported => "unimig-unsupported",
        }
    }
}

/// The group name: every [`Flag`].
const GROUP: &str = "unimig";

/// Which flags an option names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    All,
    One(Flag),
}

impl Target {
    fn covers(self, flag: Flag) -> bool {
        self == Target::All || self == Target::One(flag)
    }
}

/// One warning option, in command-line order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Action {
    /// `-w`: no warnings at all.
    SuppressAll,
    /// `-Werror` / `-Wno-error`.
    AllErrors(bool),
    /// `-Wunimig-X` / `-Wno-unimig-X`.
    Enable(Target, bool),
    /// `-Werror=unimig-X` (also enables X) / `-Wno-error=unimig-X`.
    Error(Target, bool),
}

/// What becomes of a diagnostic of one flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Ignored,
    Warning,
    Error,
}

/// The warning options of one unimig-cc run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Policy {
    actions: Vec<Action>,
}

impl Policy {
    /// Reads one of unimig-cc's own options (`-W[no-][error=]unimig[-X]`); `Err` names an
    /// unknown flag.
    pub fn unimig_option(&mut self, option: &str) -> Result<(), String> {
        let (kind, name) = if let Some(n) = option.strip_prefix("-Wno-error=") {
            ("no-error", n)
        } else if let Some(n) = option.strip_prefix("-Werror=") {
            ("error", n)
        } else if let Some(n) = option.strip_prefix("-Wno-") {
            ("no", n)
        } else if let Some(n) = option.strip_prefix("-W") {
            ("", n)
        } else {
            return Err(option.to_string());
        };
        let target = if name == GROUP {
            Target::All
        } else {
            match Flag::ALL.into_iter().find(|f| f.name() == name) {
                Some(flag) => Target::One(flag),
                None => return Err(option.to_string()),
            }
        };
        self.actions.push(match kind {
            "no-error" => Action::Error(target, false),
            "error" => Action::Error(target, true),
            "no" => Action::Enable(target, false),
            _ => Action::Enable(target, true),
        });
        Ok(())
    }

    /// Reads one of clang's options that also apply to unimig's warnings (`-w`, `-Werror`,
    /// `-Wno-error`); others are ignored.
    pub fn clang_option(&mut self, option: &str) {
        match option {
            "-w" => self.actions.push(Action::SuppressAll),
            "-Werror" => self.actions.push(Action::AllErrors(true)),
            "-Wno-error" => self.actions.push(Action::AllErrors(false)),
            _ => {}
        }
    }

    /// What a diagnostic of `flag` becomes: the options are replayed in order, the last one
    /// that applies winning, as in clang (`-w` wins over everything).
    pub fn severity(&self, flag: Flag) -> Severity {
        let (mut enabled, mut all_errors) = (true, false);
        let mut error: Option<bool> = None;
        for &action in &self.actions {
            match action {
                Action::SuppressAll => return Severity::Ignored,
                Action::AllErrors(on) => all_errors = on,
                Action::Enable(t, on) if t.covers(flag) => enabled = on,
                Action::Error(t, on) if t.covers(flag) => {
                    error = Some(on);
                    if on {
                        enabled = true;
                    }
                }
                _ => {}
            }
        }
        match (enabled, error.unwrap_or(all_errors)) {
            (false, _) => Severity::Ignored,
            (true, true) => Severity::Error,
            (true, false) => Severity::Warning,
        }
    }

    /// Whether any unimig diagnostic can be shown (if not, no line tables are needed).
    pub fn any_enabled(&self) -> bool {
        Flag::ALL
            .into_iter()
            .any(|f| self.severity(f) != Severity::Ignored)
    }
}

/// One diagnostic before the policy applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    pub loc: Option<SourceLoc>,
    pub flag: Flag,
    pub message: String,
}

/// The consequence stated by every diagnostic about a function left uninstrumented.
fn not_migratable(function: &str) -> String {
    format!(
        "'{function}' is not migratable; a migration requested while it is on the stack waits \
         until it returns"
    )
}

/// The diagnostic for a skip, or `None` for what is no user's concern (the runtime's own
/// `__unimig_*` functions).
fn skip_diagnostic(function: &str, reason: &SkipReason) -> Option<(Flag, String)> {
    let stops = not_migratable(function);
    Some(match reason {
        SkipReason::InlineAsm => (
            Flag::InlineAsm,
            format!(
                "inline assembly in '{function}' has no stackmap: a migration cannot happen \
                 inside it or anything it calls; '{function}' stays migratable elsewhere"
            ),
        ),
        SkipReason::AsmGoto => (
            Flag::InlineAsm,
            format!("'{function}' uses asm goto: {stops}"),
        ),
        SkipReason::VaStart => (
            Flag::Varargs,
            format!(
                "'{function}' uses va_start (its va_list layout differs between the ISAs): \
                 {stops}"
            ),
        ),
        SkipReason::ReturnsTwice(callee) => (
            Flag::Setjmp,
            format!("'{function}' calls '{callee}', which returns twice: {stops}"),
        ),
        SkipReason::IsaDivergent => (
            Flag::IsaDivergent,
            format!(
                "'{function}' compiles to different call sites or live values on x86_64 and \
                 aarch64 (e.g. va_arg on a va_list parameter): {stops}"
            ),
        ),
        SkipReason::Invoke => (
            Flag::Exceptions,
            format!("'{function}' has exception-handling calls (invoke): {stops}"),
        ),
        SkipReason::MustTail => (
            Flag::MustTail,
            format!("'{function}' has a musttail call, which cannot carry a stackmap: {stops}"),
        ),
        SkipReason::OperandBundles => (
            Flag::Unsupported,
            format!("'{function}' has a call with operand bundles: {stops}"),
        ),
        SkipReason::UnsupportedLiveType(ty) => (
            Flag::Unsupported,
            format!(
                "'{function}' has a value of type '{ty}' that a stackmap cannot describe alike \
                 on both ISAs: {stops}"
            ),
        ),
        SkipReason::NotInstrumentable(_) if function.starts_with("__unimig_") => return None,
        SkipReason::NotInstrumentable(why) => (
            Flag::Unsupported,
            format!("'{function}' cannot be instrumented ({why}): {stops}"),
        ),
    })
}

fn hazard_diagnostic(function: &str, kind: &HazardKind) -> (Flag, String) {
    match kind {
        HazardKind::LongDouble => (
            Flag::LongDouble,
            format!(
                "'{function}' uses long double, which is 80-bit x87 on x86_64 and 128-bit IEEE \
                 on aarch64: results differ between the ISAs, and a long double in memory is \
                 not converted when the program migrates"
            ),
        ),
        HazardKind::IsaSizedLocal { x86_64, aarch64 } => (
            Flag::IsaLayout,
            format!(
                "'{function}' has a local whose type differs in size between x86_64 and \
                 aarch64 ({x86_64} vs {aarch64} bytes, e.g. struct stat): it gets the larger \
                 slot on both ISAs; its contents are not converted when the program migrates"
            ),
        ),
        HazardKind::ComputedGoto => (
            Flag::ComputedGoto,
            format!(
                "'{function}' uses computed goto: label addresses differ between the ISAs, so a \
                 label address held in a variable across a migration point jumps into the \
                 wrong code after a migration"
            ),
        ),
    }
}

/// The diagnostics of one translation unit from both ISAs' reports: their union (a construct
/// one ISA's front end alone saw, under `#ifdef`, counts too) without repetitions, in source
/// order.
pub fn diagnostics(reports: [&Report; 2]) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = Vec::new();
    for report in reports {
        let skips = report
            .skipped
            .iter()
            .filter_map(|s| Some((s.loc.clone(), skip_diagnostic(&s.function, &s.reason)?)));
        let hazards = report
            .hazards
            .iter()
            .map(|h| (h.loc.clone(), hazard_diagnostic(&h.function, &h.kind)));
        for (loc, (flag, message)) in skips.chain(hazards) {
            out.push(Diagnostic { loc, flag, message });
        }
    }
    // Located ones first, by file, line, column; then those without a location.
    out.sort_by(|a, b| {
        (a.loc.is_none(), &a.loc, a.flag, &a.message).cmp(&(
            b.loc.is_none(),
            &b.loc,
            b.flag,
            &b.message,
        ))
    });
    out.dedup();
    out
}

/// `d` as clang prints it, or `None` when the policy ignores it. `input` names the file when
/// the diagnostic has no location.
pub fn render(d: &Diagnostic, policy: &Policy, input: &str) -> Option<(Severity, String)> {
    let severity = policy.severity(d.flag);
    let (label, flags) = match severity {
        Severity::Ignored => return None,
        Severity::Warning => ("warning", format!("-W{}", d.flag.name())),
        Severity::Error => ("error", format!("-Werror,-W{}", d.flag.name())),
    };
    let place = match &d.loc {
        Some(l) if l.column > 0 => format!("{}:{}:{}", l.file, l.line, l.column),
        Some(l) => format!("{}:{}", l.file, l.line),
        None => input.to_string(),
    };
    Some((
        severity,
        format!("{place}: {label}: {} [{flags}]", d.message),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use unimig_llvm_pass::{Hazard, Skip};

    fn policy(options: &[&str]) -> Policy {
        let mut p = Policy::default();
        for o in options {
            if o.contains("unimig") {
                p.unimig_option(o).unwrap();
            } else {
                p.clang_option(o);
            }
        }
        p
    }

    #[test]
    fn the_last_applicable_option_wins() {
        use Severity::*;
        let asm = Flag::InlineAsm;
        assert_eq!(policy(&[]).severity(asm), Warning);
        assert_eq!(policy(&["-Werror"]).severity(asm), Error);
        assert_eq!(policy(&["-Werror", "-Wno-error"]).severity(asm), Warning);
        assert_eq!(policy(&["-Werror", "-w"]).severity(asm), Ignored);
        assert_eq!(policy(&["-Wno-unimig-inline-asm"]).severity(asm), Ignored);
        assert_eq!(
            policy(&["-Wno-unimig-inline-asm"]).severity(Flag::Varargs),
            Warning
        );
        assert_eq!(
            policy(&["-Wno-unimig", "-Wunimig-inline-asm"]).severity(asm),
            Warning
        );
        assert_eq!(policy(&["-Wno-unimig"]).severity(Flag::Setjmp), Ignored);
        assert_eq!(policy(&["-Werror=unimig-inline-asm"]).severity(asm), Error);
        assert_eq!(
            policy(&["-Werror=unimig-inline-asm"]).severity(Flag::Varargs),
            Warning
        );
        // -Werror=X enables X again; -Wno-error=X keeps X a warning under -Werror.
        assert_eq!(
            policy(&["-Wno-unimig", "-Werror=unimig-varargs"]).severity(Flag::Varargs),
            Error
        );
        assert_eq!(
            policy(&["-Werror", "-Wno-error=unimig-setjmp"]).severity(Flag::Setjmp),
            Warning
        );
        assert_eq!(
            policy(&["-Werror", "-Wno-error=unimig"]).severity(asm),
            Warning
        );
        assert!(!policy(&["-w"]).any_enabled());
        assert!(!policy(&["-Wno-unimig"]).any_enabled());
        assert!(policy(&["-Wno-unimig", "-Wunimig-setjmp"]).any_enabled());
    }

    #[test]
    fn unknown_flags_are_refused() {
        let mut p = Policy::default();
        assert_eq!(
            p.unimig_option("-Wunimig-frob"),
            Err("-Wunimig-frob".to_string())
        );
        assert!(p.unimig_option("-Wno-error=unimig-varargs").is_ok());
    }

    fn loc(line: u32, column: u32) -> Option<SourceLoc> {
        Some(SourceLoc {
            file: "a.c".into(),
            line,
            column,
        })
    }

    #[test]
    fn diagnostics_are_merged_sorted_and_rendered() {
        let skip = |function: &str, reason, loc| Skip {
            function: function.into(),
            reason,
            loc,
        };
        let x = Report {
            skipped: vec![
                skip("v", SkipReason::IsaDivergent, loc(9, 0)),
                skip("f", SkipReason::VaStart, loc(3, 5)),
                skip(
                    "__unimig_x",
                    SkipReason::NotInstrumentable("unimig runtime function".into()),
                    None,
                ),
            ],
            hazards: vec![Hazard {
                function: "g".into(),
                kind: HazardKind::LongDouble,
                loc: None,
            }],
            ..Report::default()
        };
        // AArch64 repeats the function-level reasons and has no long double.
        let a = Report {
            skipped: vec![
                skip("f", SkipReason::VaStart, loc(3, 5)),
                skip("v", SkipReason::IsaDivergent, loc(9, 0)),
            ],
            ..Report::default()
        };
        let all = diagnostics([&x, &a]);
        let flags: Vec<Flag> = all.iter().map(|d| d.flag).collect();
        assert_eq!(flags, [Flag::Varargs, Flag::IsaDivergent, Flag::LongDouble]);
        let lines: Vec<String> = all
            .iter()
            .filter_map(|d| render(d, &policy(&["-Werror=unimig-isa-divergent"]), "a.c"))
            .map(|(_, text)| text)
            .collect();
        assert_eq!(
            lines[0],
            "a.c:3:5: warning: 'f' uses va_start (its va_list layout differs between the ISAs): \
             'f' is not migratable; a migration requested while it is on the stack waits until \
             it returns [-Wunimig-varargs]"
        );
        assert!(
            lines[1].starts_with("a.c:9: error: 'v' compiles"),
            "{}",
            lines[1]
        );
        assert!(lines[1].ends_with("[-Werror,-Wunimig-isa-divergent]"));
        assert!(lines[2].starts_with("a.c: warning: 'g' uses long double"));
    }
}
