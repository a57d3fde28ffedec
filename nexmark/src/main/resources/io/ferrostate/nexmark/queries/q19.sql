-- The ten highest bids of each auction (Top-N). Equal prices tie, so only price and rank are
-- checked.
-- check: columns=auction,price,rank_number
SELECT auction, bidder, price, channel, url, `dateTime`, extra, rank_number
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number
  FROM bid
)
WHERE rank_number <= 10
