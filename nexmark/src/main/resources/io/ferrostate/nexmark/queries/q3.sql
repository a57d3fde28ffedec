-- Local item suggestion: who sells in category 10 in Oregon, Idaho or California
-- (a regular join of auctions and persons: both sides kept in state).
SELECT P.name, P.city, P.state, A.id
FROM auction AS A
INNER JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
