// A Java agent that does nothing. LocalStack starts DynamoDB Local with
// -javaagent:<ddb-local-loader jar>, a patch it normally downloads; offline we
// hand it this jar instead so the JVM starts.
public final class NoopAgent {
    public static void premain(String args) {}
    public static void premain(String args, java.lang.instrument.Instrumentation inst) {}
}
