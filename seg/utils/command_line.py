"""Command-line tools report a bad input as one line on stderr and exit status 2."""
import sys
from typing import Callable, Optional, Sequence, Tuple, Type

# What damaged or wrong inputs raise (json errors are ValueErrors; PIL and OpenCV raise OSError
# or ValueError); anything else is a bug and keeps its traceback.
INPUT_ERRORS: Tuple[Type[BaseException], ...] = (ValueError, TypeError, KeyError, OSError)


def run_reporting_input_errors(main: Callable[[Optional[Sequence[str]]], Optional[int]],
                               argv: Optional[Sequence[str]] = None) -> int:
    """``main(argv)``'s exit status (None counts as 0), or 2 after printing ``error: ...`` on
    one line when it raises one of :data:`INPUT_ERRORS`."""
    try:
        return main(argv) or 0
    except INPUT_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f'error: {message}'.replace('\n', ' '), file=sys.stderr)
        return 2
