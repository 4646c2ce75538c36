"""Check this code base against a reference case of the published OMG-Seg implementation.

    python tools/reference_check.py CASE_DIR [CASE_DIR ...]

CASE_DIR holds ``case.json``, ``state_dict.pth`` (reference key names), ``inputs.pth`` and the
reference outputs ``out_*.pth`` (e.g. ``../shared/reference_outputs/case_small``). The model is
built from ``case.json`` alone, the state dict goes through the checkpoint converter, the forward
calls of the case README run, and the difference of every saved output is printed. Exit status 1
when any output is outside the case's tolerances (or cannot be produced), 0 otherwise.
"""
import argparse
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('case_dirs', nargs='+', metavar='CASE_DIR',
                        help='reference case folder(s)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import seg.models  # noqa: F401  (registers the model components)
    from seg.testing.case_runs import run_reference_case
    from seg.testing.reference_case import load_case

    failed = []
    for case_dir in args.case_dirs:
        case = load_case(case_dir)
        print(f'== reference case {case.root} ({case.description.get("produced_by", "")})')
        checks = run_reference_case(case)
        print(checks.report())
        if not checks.passed:
            failed.append(str(case.root))
    if failed:
        print(f'FAILED: {", ".join(failed)}')
        return 1
    print('all reference cases pass')
    return 0


if __name__ == '__main__':
    sys.exit(main())
