"""Writing a set of index shards: the cluster file that sums their statistics
(:mod:`.stats`), the Ray session both sides start (:mod:`.ray_runtime`) and ``vnsearch
cluster index`` on Ray (:mod:`.ray_index`). Serving the shards is the upper layer's
(``search_api.cluster``); this package never imports it.
"""
