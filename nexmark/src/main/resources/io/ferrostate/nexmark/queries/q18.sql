-- Last bid of each bidder on each auction (deduplication keeping the last row by event time).
-- Bids in the same millisecond tie, so the row kept among them is not checked.
-- check: columns=auction,bidder,dateTime
SELECT auction, bidder, price, channel, url, `dateTime`, extra
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY `dateTime` DESC) AS rank_number
  FROM bid
)
WHERE rank_number <= 1
