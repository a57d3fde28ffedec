package evo;

/** Incompatible with v1: a field's type changed (int to String), which Flink's POJO rules forbid. */
public class Account {
    public long id;
    public String owner;
    public String balance;
    public String note;

    public Account() {}
}
