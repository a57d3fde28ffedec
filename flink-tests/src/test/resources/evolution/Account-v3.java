package evo;

/**
 * v3: note removed, owner renamed to holder (for a POJO a rename is a removal plus an addition:
 * owner's values are dropped, holder starts null), a nullable field (score) added.
 */
public class Account {
    public long id;
    public String holder;
    public int balance;
    public String email;
    public Integer score;

    public Account() {}
}
