"""Makes oscrypto 1.3.0 (pinned by pyas2lib 1.4.4) load on OpenSSL 3.0.10 and later.

oscrypto 1.3.0 reads libcrypto's version with the pattern ``\\d\\.\\d\\.\\d``, which finds no
version in "OpenSSL 3.0.19" and refuses to load ("Error detecting the version of libcrypto").
Upstream fixed the pattern (wbond/oscrypto commit d5f3437, issues #75 and #78) but has not
released it, and pyas2lib pins ``oscrypto==1.3.0``. Rather than install from a git URL, we load
oscrypto's own version-detection module with that one pattern replaced by the fixed one, and
change nothing else. The fix is applied only to the exact text it was written for: any other
oscrypto version is imported untouched (and a released fix makes this module a no-op).
"""

from __future__ import annotations

import importlib.util
import sys

#: oscrypto 1.3.0's version pattern, and upstream's fix of it (one to three digits per part).
_BROKEN = "'\\\\b(\\\\d\\\\.\\\\d\\\\.\\\\d[a-z]*)\\\\b'"
_FIXED = "'\\\\b(\\\\d+\\\\.\\\\d+\\\\.\\\\d+[a-z]*)\\\\b'"


def load_oscrypto() -> None:
    """Import oscrypto's libcrypto binding, with the version pattern fixed when it is the broken one."""
    from oscrypto import ffi  # which binding oscrypto will use (cffi or ctypes); loads no library

    name = f"oscrypto._openssl._libcrypto_{ffi()}"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return
    source = spec.loader.get_source(name)  # type: ignore[attr-defined]
    if source is None or source.count(_BROKEN) != 1:
        return  # not the text this fix is for: import it as it is
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        exec(compile(source.replace(_BROKEN, _FIXED), spec.origin or name, "exec"), module.__dict__)
    except BaseException:
        del sys.modules[name]
        raise
