package io.ferrostate.nexmark.check;

import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;

import java.io.Serializable;
import java.util.List;

/** The text form of a row's checked columns: values joined by {@code |}, {@code null} for null. */
final class RowFormat implements Serializable {
    private static final long serialVersionUID = 1L;

    private final RowData.FieldGetter[] getters;

    RowFormat(List<LogicalType> types, int[] columns) {
        getters = new RowData.FieldGetter[columns.length];
        for (int i = 0; i < columns.length; i++) {
            getters[i] = RowData.createFieldGetter(types.get(columns[i]), columns[i]);
        }
    }

    String format(RowData row) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < getters.length; i++) {
            if (i > 0) {
                b.append('|');
            }
            b.append(getters[i].getFieldOrNull(row));
        }
        return b.toString();
    }
}
