"""`secmon decisions`: alerts become ban decisions that CrowdSec's bouncers enforce, unchanged.

- policy: which alerts ban which address until when; every entity checked again (no zone id,
  canonical spelling); the allowlist;
- stream: CrowdSec's stream semantics over a ledger in the state dir (cursors, deltas, lifts);
- filters: the API's query parameters, honoured or refused;
- server: `serve`, the bouncers' part of CrowdSec's local API;
- keys: the bouncers' keys;
- exports: nginx and nftables files, checked before they replace the old ones;
- cli: the commands.
"""

from secmon.decisions.policy import DEFAULT_ALLOWLIST

__all__ = ["DEFAULT_ALLOWLIST"]
