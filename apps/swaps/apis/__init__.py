"""The swaps API: drivers (scan, order, cancel), station staff (queue, call, confirm, abnormal,
resolve), operators (controller key, bay codes) and station controllers (signed requests)."""
