public enum _SuballocationPlaceholder {}
