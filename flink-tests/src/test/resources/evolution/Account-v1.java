package evo;

/** v1 of the POJO kept in state: a Flink POJO (public class, public no-arg constructor, public fields). */
public class Account {
    public long id;
    public String owner;
    public int balance;
    public String note;

    public Account() {}
}
