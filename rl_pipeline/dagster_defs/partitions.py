"""Each session is a dynamic partition (key = session id) of every session asset, so the UI
shows each session's own slice of the lineage and its history."""

import dagster as dg

SESSION_PARTITIONS = dg.DynamicPartitionsDefinition(name="session")
PARTITION_TAG = "dagster/partition"
