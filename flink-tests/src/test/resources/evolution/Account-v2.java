package evo;

/** v2: a field added (Flink's PojoSerializer: compatible after migration, the new field is null). */
public class Account {
    public long id;
    public String owner;
    public int balance;
    public String note;
    public String email;

    public Account() {}
}
