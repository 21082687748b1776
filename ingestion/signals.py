"""What the pipeline announces. Receivers (realtime) turn these into broadcasts.

All are sent after the database commit that made them true.
"""

from django.dispatch import Signal

# run: IngestionRun, previous: str
run_status_changed = Signal()
# run: IngestionRun (counters fresh from the item rows)
run_progress = Signal()
# run: IngestionRun, new_creative_ids: list[int], updated_creative_ids: list[int]
run_committed = Signal()
# run: IngestionRun, creative_ids: list[int]
analysis_ready = Signal()
