-- Pass-through: every bid, as is (measures the source, the sink and the framework).
SELECT auction, bidder, price, `dateTime`, extra FROM bid
