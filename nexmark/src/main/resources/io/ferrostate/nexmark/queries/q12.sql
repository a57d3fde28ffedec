-- Processing-time windows: bids per bidder per 10 s of processing time. Which window a bid falls
-- in, and which windows close before a bounded run ends, depend on the wall clock: its result is
-- not compared between runs (the check still counts its rows).
-- check: none
CREATE TEMPORARY VIEW bid_proctime AS
SELECT bid.bidder AS bidder, p_time FROM nexmark WHERE event_type = 2;

SELECT bidder, COUNT(*) AS bid_count, window_start, window_end
FROM TABLE(TUMBLE(TABLE bid_proctime, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
GROUP BY bidder, window_start, window_end
